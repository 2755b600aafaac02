import { parseArgs, type ParseArgsConfig } from "node:util";
import { globProblem } from "../policy/glob.js";

export interface CliIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
}

/** What a command does when it runs: its module is loaded only then. */
export interface Command {
  readonly help: string;
  /** The exit code; a command that does nothing asynchronous answers at once. */
  run(argv: readonly string[], io: CliIO): Promise<number> | number;
}

/** A command as the CLI lists it (commands.ts): its name, what it is for, and how to load it. */
export interface CommandDeclaration {
  readonly name: string;
  readonly summary: string;
  /** It talks to a cluster: its credentials start resolving while it loads. */
  readonly needsCluster: boolean;
  load(): Promise<Command>;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Bad usage: exit 2 and point at --help. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The work could not be done: exit 1, the message says what to fix. */
export class WorkError extends Error {
  override readonly name = "WorkError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Strict flag parsing; unknown flags and missing values become UsageErrors. `--help`/`-h` is always accepted. */
export function parseFlags<T extends Options>(argv: readonly string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: [...argv], options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
}

/**
 * A command's flags, or undefined once `--help` has printed HELP (the command then exits 0).
 * Without allowPositionals, any positional argument is a UsageError from parseFlags.
 */
export function parseCommandLine<T extends Options>(argv: readonly string[], options: T, help: string, io: CliIO, allowPositionals = false) {
  const parsed = parseFlags(argv, options, allowPositionals);
  if (!(parsed.values as { help?: boolean }).help) return parsed;
  write(io.stdout, help);
  return undefined;
}

export function positiveInteger(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new UsageError(`${flag} must be a positive whole number, got "${value}"`);
  return Number(value);
}

export function nonNegativeInteger(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number of 0 or more, got "${value}"`);
  return Number(value);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A duration as kubectl writes them ("90s", "5m", "1h30m", "0"), in milliseconds. */
export function duration(flag: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined || value === "") return fallbackMs;
  if (value === "0") return 0;
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== value)
    throw new UsageError(`${flag} must be a duration such as 30s, 5m or 1h30m, got "${value}"`);
  return Math.round(parts.reduce((sum, [, number, unit]) => sum + Number(number) * DURATION_UNITS[unit!]!, 0));
}

/** A TCP port from a flag (or its environment variable), 0 meaning "any free one". */
export function port(flag: string, value: string | undefined, fallback: number): number {
  const number = nonNegativeInteger(flag, value, fallback);
  if (number > 65535) throw new UsageError(`${flag} must be at most 65535, got ${number}`);
  return number;
}

/** A glob from a flag (--namespace, --service), refused here with what is wrong rather than after reading the cluster. */
export function globFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const problem = globProblem(value);
  if (problem) throw new UsageError(`${flag} ${JSON.stringify(value)}: ${problem}`);
  return value;
}

/** The value of a flag that takes one of CHOICES, or undefined when it is not given. */
export function choiceFlag<T extends string>(flag: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${choices.join(", ")}, got ${JSON.stringify(value)}`);
  return value as T;
}

export const write = (stream: NodeJS.WritableStream, text: string): void => {
  stream.write(text.endsWith("\n") ? text : `${text}\n`);
};
