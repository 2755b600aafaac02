// sandbox.namespacePattern runs in V8's backtracking engine on every pod's namespace (the webhook)
// and on every namespace (the controller), so a pattern that backtracks is refused before it is
// ever used: `^(?<base>([a-z0-9]+-?)+)--(?<branch>box-[a-z0-9]+)$` once held a webhook's event
// loop for 8 s on one 36-character namespace. There is no linear-time engine to run it in instead
// (re2-wasm aborts the process when its fixed heap is full and cannot free a compiled pattern; the
// native re2 needs a C++ toolchain or binaries from GitHub; V8's own is behind an experimental
// flag), so recheck proves each pattern's cost with its automaton checker, in pure JavaScript.
import { createRequire } from "node:module";
import type { checkSync as CheckSync, Diagnostics } from "recheck";

// Realistic patterns are judged in 2–300 ms (the first, which compiles the checker, the slowest);
// contrived ones of 200 characters took up to 2.5 s.
const CHECK_TIMEOUT_MS = 5_000;

const SUGGESTION =
  "write it so that each character can be matched one way only, e.g. one class with a lazy quantifier ([a-z0-9-]+?) instead of a repeated group (([a-z0-9]+-?)+)";

let checker: typeof CheckSync | undefined;

/** recheck, loaded on first use (its 2.9 MB of JavaScript cost about 150 ms), and never its native binary or Java. */
function recheck(source: string): Diagnostics {
  checker ??= (createRequire(import.meta.url)("recheck") as { checkSync: typeof CheckSync }).checkSync;
  // recheck reads its backend from the environment on every call; anything but "pure" may spawn
  // the native binary or java from its optional dependencies, which the image does not ship.
  const saved = { backend: process.env["RECHECK_BACKEND"], sync: process.env["RECHECK_SYNC_BACKEND"] };
  process.env["RECHECK_BACKEND"] = "pure";
  process.env["RECHECK_SYNC_BACKEND"] = "pure";
  try {
    return checker(source, "", { checker: "automaton", timeout: CHECK_TIMEOUT_MS });
  } finally {
    restore("RECHECK_BACKEND", saved.backend);
    restore("RECHECK_SYNC_BACKEND", saved.sync);
  }
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/**
 * SOURCE with every counted repetition ({2}, {1,20}, {3,}) made unbounded ({2,}, {1,}, {3,}).
 * recheck judges the cost as names grow without end, where a bound caps it; but the cap is no help
 * on names of 63 characters: ^((?:[a-z]{1,30}-?){1,30}){1,30}x$, "safe" to recheck, took V8 111 s
 * on 20 characters. Unbounded, such a pattern shows its backtracking; one that stays linear
 * unbounded cannot backtrack more with a bound.
 */
export function unbounded(source: string): string {
  let out = "";
  let inClass = false;
  for (let at = 0; at < source.length;) {
    const char = source[at]!;
    const quantifier = !inClass && char === "{" ? /^\{(\d+)(?:,\d*)?\}/.exec(source.slice(at)) : null;
    if (char === "\\") {
      out += source.slice(at, at + 2);
      at += 2;
      continue;
    }
    if (quantifier) {
      out += `{${quantifier[1]},}`;
      at += quantifier[0].length;
      continue;
    }
    if (char === "[") inClass = true;
    else if (char === "]") inClass = false;
    out += char;
    at++;
  }
  return out;
}

const cut = (text: string, length = 80): string => (text.length > length ? `${text.slice(0, length)}...` : text);

function judge(checked: string, diagnostics: Diagnostics, relaxed: boolean): string | undefined {
  if (diagnostics.status === "safe") return undefined;
  if (diagnostics.status === "unknown") {
    const { error } = diagnostics;
    if (error.kind === "timeout") return `could not be proven to run in linear time within ${CHECK_TIMEOUT_MS / 1000} s: simplify it; ${SUGGESTION}`;
    if (error.kind === "unsupported") return `uses a ${error.message}, which cannot be proven to run in linear time: write it without one`;
    return `could not be checked for backtracking (${error.kind === "cancel" ? "cancelled" : cut(error.message, 120)}): simplify it`;
  }
  const { complexity, attack, hotspot } = diagnostics;
  // Names are DNS labels of at most 63 characters (sandboxGroups tries no longer one), so a
  // quadratic pattern costs at most about 63² ≈ 4,000 steps per namespace: accepted.
  if (complexity.type === "polynomial" && complexity.degree < 3) return undefined;
  const cost = complexity.type === "exponential" ? "exponential time" : `polynomial time of degree ${complexity.degree}`;
  const parts = [...new Set(hotspot.filter((h) => h.temperature === "heat").map((h) => checked.slice(h.start, h.end)))];
  const where = parts.length > 0 ? ` (at ${cut(parts.join(", "))})` : "";
  const bounds = relaxed ? " (its counted repetitions judged as unbounded: within 63 characters a bound such as {1,30} does not stop the backtracking)" : "";
  return `backtracks in ${cost} on names such as ${cut(attack.pattern)}${where}${bounds}: one such namespace would stall the webhook and the controller; ${SUGGESTION}`;
}

/** recheck's answer for one pattern; one that timed out says more about the machine's load than about the pattern. */
export interface PatternVerdict {
  readonly problem: string | undefined;
  readonly timedOut: boolean;
}

/** Why SOURCE (a valid RegExp) must not be a namespace pattern, or no problem when its cost is bounded; asks recheck each time. */
export function checkNamespacePattern(source: string): PatternVerdict {
  const checked = unbounded(source);
  const diagnostics = recheck(checked);
  return {
    problem: judge(checked, diagnostics, checked !== source),
    timedOut: diagnostics.status === "unknown" && diagnostics.error.kind === "timeout",
  };
}
