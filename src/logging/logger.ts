import { pino, type Logger } from "pino";

export type { Logger };

// Key material must never reach a log line, whatever a caller passes in.
const REDACT = ["key", "*.key", "tlsKey", "*.tlsKey", "privateKey", "*.privateKey", "req.headers.authorization"];

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env["LOG_LEVEL"] ?? "info";
  const settings = { level, base: { service: "mesh-tailor" }, redact: { paths: REDACT, censor: "[redacted]" } };
  return options.destination ? pino(settings, options.destination as never) : pino(settings);
}
