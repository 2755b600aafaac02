import type { KubeApi } from "../../kube/client.js";
import { PolicyError } from "../../policy/load.js";
import { error, type CheckResult, type DoctorCheck, type Finding } from "./check.js";
import { DOCTOR_CHECKS } from "./checks/index.js";
import { FactReader, type FactName, type Facts } from "./facts.js";

/** Why a fact could not be read, as a finding of the check that needed it. */
function unreadable(error_: unknown, names: readonly FactName[]): Finding {
  if (error_ instanceof PolicyError) {
    return error(
      `the policy is invalid, so this cannot be judged: ${error_.problems.slice(0, 3).join("; ")}${error_.problems.length > 3 ? ` (and ${error_.problems.length - 3} more)` : ""}`,
      "mesh-tailor policy validate FILE   (then judge by the fixed file: mesh-tailor doctor --config FILE)",
    );
  }
  return error(`cannot read ${names.join(", ")}: ${(error_ as Error).message}`);
}

const asList = (found: Finding | readonly Finding[]): readonly Finding[] => ("status" in found ? [found] : found);

/** Runs CHECK on what FACTS gives it: its findings, each with the check's name and a fix where it names none. */
async function runCheck(check: DoctorCheck, facts: { pick(names: readonly FactName[]): Promise<Partial<Facts>> }): Promise<CheckResult[]> {
  let findings: readonly Finding[];
  try {
    const picked = (await facts.pick(check.reads)) as Facts;
    findings = asList(check.judge(picked)).map((f) => (f.status === "ok" || f.fix || !check.fix ? f : { ...f, fix: check.fix(picked) }));
  } catch (failure) {
    findings = [unreadable(failure, check.reads)];
  }
  return findings.map((finding) => ({ check: check.name, ...finding }));
}

/**
 * Runs every check against the live cluster. Each fact is read once, for all the checks that
 * need it (a handful of GETs and paged LISTs); a fact that cannot be read (forbidden, an invalid
 * policy) fails the checks that need it and no other. Only an API server that cannot be reached
 * at all fails doctor itself.
 */
export async function doctor(
  api: Pick<KubeApi, "get" | "getText" | "list">,
  configFile: string | undefined,
  now = new Date(),
  checks: readonly DoctorCheck[] = DOCTOR_CHECKS,
): Promise<CheckResult[]> {
  const facts = new FactReader(api, configFile, now);
  await facts.get("serverVersion");
  return (await Promise.all(checks.map((check) => runCheck(check, facts)))).flat();
}

/** Every check on a complete set of FACTS, read already: the pure form, for tests. */
export async function judgeAll(facts: Facts, checks: readonly DoctorCheck[] = DOCTOR_CHECKS): Promise<CheckResult[]> {
  const source = { pick: (names: readonly FactName[]) => Promise.resolve(Object.fromEntries(names.map((name) => [name, facts[name]])) as Partial<Facts>) };
  return (await Promise.all(checks.map((check) => runCheck(check, source)))).flat();
}

/** The checks, one line each, for `doctor --help`. */
export function checksHelp(checks: readonly DoctorCheck[] = DOCTOR_CHECKS): string {
  const width = Math.max(...checks.map((c) => c.name.length)) + 2;
  return checks.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join("\n");
}

/** The README's table of checks: when each is an error, and when a warning. */
export function checksTableMarkdown(checks: readonly DoctorCheck[] = DOCTOR_CHECKS): string {
  return ["| check | error | warning |", "| --- | --- | --- |", ...checks.map((c) => `| \`${c.name}\` | ${c.errorWhen} | ${c.warningWhen} |`)].join("\n");
}
