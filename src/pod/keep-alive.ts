import { goDurationSeconds } from "./durations.js";
import type { Container } from "./types.js";

/** Where a container declares its keep-alive: an env var or a command-line flag, and the unit of a bare number. */
export interface KeepAliveSource {
  readonly env?: string | undefined;
  readonly arg?: string | undefined;
  readonly unit: "s" | "ms";
}

export type KeepAlive =
  | { readonly kind: "declared"; readonly seconds: number; readonly from: string }
  | { readonly kind: "unreadable"; readonly value: string; readonly from: string };

interface EnvVar {
  name?: unknown;
  value?: unknown;
}

const BARE_NUMBER = /^\d+(\.\d+)?$/;
// Kubernetes expands $(VAR) in env values and arguments: only the kubelet knows what it becomes.
const REFERENCE = "$(";

/**
 * The keep-alive CONTAINER declares where SOURCE says: a literal env value (the last of that name,
 * as the kubelet keeps) or a flag's value in its command and args (`--flag=V` or `--flag V`),
 * read as a Go duration ("5s") or a bare number in SOURCE's unit. Undefined where it declares
 * none, or none that can be read before the pod runs (valueFrom, a $(VAR) reference).
 */
export function declaredKeepAlive(container: Container, source: KeepAliveSource): KeepAlive | undefined {
  const found = source.env !== undefined ? envValue(container, source.env) : argValue(container, source.arg ?? "");
  if (found === undefined || found.value.includes(REFERENCE)) return undefined;
  const text = found.value.trim();
  const seconds = BARE_NUMBER.test(text) ? Number(text) / (source.unit === "ms" ? 1000 : 1) : text.startsWith("-") ? undefined : goDurationSeconds(text);
  return seconds === undefined ? { kind: "unreadable", value: found.value, from: found.from } : { kind: "declared", seconds, from: found.from };
}

function envValue(container: Container, name: string): { value: string; from: string } | undefined {
  const env = Array.isArray(container["env"]) ? (container["env"] as EnvVar[]) : [];
  const last = env.findLast((e) => e?.name === name);
  return typeof last?.value === "string" ? { value: last.value, from: `env ${name}` } : undefined;
}

function argValue(container: Container, flag: string): { value: string; from: string } | undefined {
  const words = [container["command"], container["args"]].flatMap((list) =>
    Array.isArray(list) ? list.filter((w): w is string => typeof w === "string") : [],
  );
  let value: string | undefined;
  // The last occurrence wins, as most flag parsers keep it.
  for (let i = 0; i < words.length; i++) {
    if (words[i] === flag && i + 1 < words.length) value = words[i + 1];
    else if (words[i]!.startsWith(`${flag}=`)) value = words[i]!.slice(flag.length + 1);
  }
  return value === undefined ? undefined : { value, from: `flag ${flag}` };
}
