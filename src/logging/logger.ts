import { pino, type Logger } from "pino";

export type { Logger };

// Key material must never reach a log line, whatever a caller passes in.
const REDACT = ["key", "*.key", "tlsKey", "*.tlsKey", "privateKey", "*.privateKey", "req.headers.authorization"];

export type LogFormat = "json" | "pretty";

function settings(level: string): pino.LoggerOptions {
  return { level, base: { service: "mesh-tailor" }, redact: { paths: REDACT, censor: "[redacted]" } };
}

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env["LOG_LEVEL"] ?? "info";
  return options.destination ? pino(settings(level), options.destination as never) : pino(settings(level));
}

/** JSON for log collectors; readable lines when a person watches the terminal. LOG_FORMAT overrides. */
export function chooseLogFormat(env: NodeJS.ProcessEnv, stdoutIsTerminal: boolean): LogFormat {
  const asked = env["LOG_FORMAT"];
  if (asked === "json" || asked === "pretty") return asked;
  return stdoutIsTerminal ? "pretty" : "json";
}

/** The logger of a long-running command (serve, controller) writing to stdout. */
export async function createCommandLogger(level: string, format: LogFormat): Promise<Logger> {
  if (format === "json") return pino(settings(level));
  // Loaded only for a terminal: production (JSON) never pays for it. Synchronous, so the last
  // lines before an exit are not lost in a worker's buffer.
  const { default: pretty } = await import("pino-pretty");
  const stream = pretty({ sync: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,service", singleLine: false });
  return pino(settings(level), stream);
}
