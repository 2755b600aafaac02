import type { LifecycleHandler } from "./types.js";

const SHELLS = new Set(["sh", "bash", "ash", "dash", "zsh"]);
const SLEEP_UNITS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };
// `sleep N` inside a shell script, with GNU sleep's optional unit suffix.
const SLEEP_IN_SCRIPT = /(?:^|[\s;&|(])(?:\/(?:usr\/)?bin\/)?sleep\s+(\d+(?:\.\d+)?)([smhd]?)(?=$|[\s;&|)])/g;

const basename = (path: string): string => path.slice(path.lastIndexOf("/") + 1);

function parseSleepArgument(argument: string | undefined): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(argument ?? "");
  return match ? Math.ceil(Number(match[1]) * SLEEP_UNITS[match[2]!]!) : undefined;
}

/**
 * How long a preStop hook keeps its container alive, in seconds: 0 when there is none, the
 * sleep when it is a `sleep` action, `sleep N`, or a shell script whose sleeps can be added up;
 * undefined when it cannot be read (an HTTP hook, a script without sleep, a custom binary).
 */
export function preStopSeconds(handler: LifecycleHandler | undefined): number | undefined {
  if (!handler) return 0;
  if (handler.sleep && Number.isInteger(handler.sleep.seconds)) return Math.max(0, handler.sleep.seconds);
  const command = handler.exec?.command;
  if (!command || command.length === 0) return undefined;
  const program = basename(command[0]!);
  if (program === "sleep" && command.length === 2) return parseSleepArgument(command[1]);
  if (SHELLS.has(program)) {
    const scriptIndex = command.indexOf("-c");
    const script = scriptIndex === -1 ? undefined : command[scriptIndex + 1];
    if (script === undefined) return undefined;
    let total: number | undefined;
    for (const match of script.matchAll(SLEEP_IN_SCRIPT)) {
      total = (total ?? 0) + Math.ceil(Number(match[1]) * SLEEP_UNITS[match[2]!]!);
    }
    return total;
  }
  return undefined;
}
