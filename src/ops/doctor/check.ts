import type { FactName, Facts } from "./facts.js";

export type CheckStatus = "ok" | "warning" | "error";

/** One line of doctor's report. */
export interface CheckResult {
  readonly check: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do, for a warning or an error: a command that runs as printed where there is one. */
  readonly fix?: string;
}

/** What a judge finds: a result without its check's name, which the declaration gives. */
export type Finding = Omit<CheckResult, "check">;

/**
 * One doctor check, declared once: what it is called, what it reads (facts.ts reads each fact
 * at most once, for every check that names it), how it judges, and what fixes it. `doctor
 * --help` and the README's table are made from these declarations.
 */
export interface DoctorCheck<K extends FactName = FactName> {
  readonly name: string;
  /** What it checks, for `doctor --help`. */
  readonly summary: string;
  /** When it is an error, and when a warning, for the README's table ("" when never). */
  readonly errorWhen: string;
  readonly warningWhen: string;
  readonly reads: readonly K[];
  /** The findings on FACTS; none when the check does not apply (e.g. mesh-tailor not installed). */
  judge(facts: Pick<Facts, K>): Finding | readonly Finding[];
  /** The fix for a finding that names none. */
  readonly fix?: (facts: Pick<Facts, K>) => string;
}

/** Declares a check, its facts checked against what its judge reads. */
export const declareCheck = <K extends FactName>(check: DoctorCheck<K>): DoctorCheck => check;

export const ok = (detail: string): Finding => ({ status: "ok", detail });
export const warning = (detail: string, fix?: string): Finding => ({ status: "warning", detail, ...(fix ? { fix } : {}) });
export const error = (detail: string, fix?: string): Finding => ({ status: "error", detail, ...(fix ? { fix } : {}) });
