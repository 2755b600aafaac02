// The namespace patterns judged so far in this process, by source, so a policy reloaded with the
// same pattern does not pay recheck's 20–300 ms again (load-off-thread.ts carries them to and
// from its workers). The default pattern is known linear (a test proves it with recheck): a
// process on the default policy never loads recheck at all.
import { checkNamespacePattern } from "./pattern-check.js";

export const DEFAULT_NAMESPACE_PATTERN = "^(?<base>[a-z0-9-]+?)--(?<branch>box-[a-z0-9]+)$";

/** Longer than any namespace pattern needs; keeps what recheck is given small. */
export const MAX_PATTERN_LENGTH = 256;

export type Verdicts = [source: string, problem: string | undefined][];

const MAX_VERDICTS = 64;
const verdicts = new Map<string, string | undefined>([[DEFAULT_NAMESPACE_PATTERN, undefined]]);

/** Why SOURCE (a valid RegExp, MAX_PATTERN_LENGTH characters at most) must not be a namespace pattern, or undefined when its cost is bounded. */
export function namespacePatternProblem(source: string): string | undefined {
  if (verdicts.has(source)) return verdicts.get(source);
  const { problem, timedOut } = checkNamespacePattern(source);
  if (!timedOut) remember([[source, problem]]);
  return problem;
}

/** The verdicts reached so far, to hand to another thread. */
export const knownVerdicts = (): Verdicts => [...verdicts];

/** Verdicts reached elsewhere (a worker, or the thread that started it); past the bound, the oldest go. */
export function remember(list: Readonly<Verdicts>): void {
  for (const [source, problem] of list) {
    verdicts.delete(source);
    verdicts.set(source, problem);
  }
  for (const oldest of verdicts.keys()) {
    if (verdicts.size <= MAX_VERDICTS) break;
    if (oldest !== DEFAULT_NAMESPACE_PATTERN) verdicts.delete(oldest);
  }
}
