import { stringify } from "yaml";
import type { StatusReport } from "../ops/status.js";
import { withClusterPolicy } from "./cluster-session.js";
import { STALE_REASONS } from "../ops/stale-reasons.js";
import { choiceFlag, EXIT_FAILED, EXIT_OK, globFlag, parseCommandLine, UsageError, write, type Command } from "./command.js";
import { formatTable } from "./table.js";

/** Exit code when something is stale, so `status` can gate a pipeline. */
export const EXIT_STALE = 3;

const HELP = `Usage: mesh-tailor status [flags]

One row per workload (Deployment, StatefulSet, DaemonSet, CronJob; Jobs and bare pods grouped as
such) in the namespaces mesh-tailor tailors: its service, what the current policy decides for
its pod template (IN or OUT of the mesh, and the Istio revision), its pods with and without a
proxy, and its pods stale (--reason below): tailored by a policy that shaped them differently
than the current one would, a proxy where the policy now says otherwise, the other dataplane,
or a proxy other than Istio injects now (its revision, its image, classic or native). A summary
line follows, and a line of pods by dataplane and injecting revision. Terminating pods are not
counted. Reads one paged LIST per kind and a GET per Istio revision's injector ConfigMap (and
the nodes' kubelet versions, as a table, when a revision decides native sidecars by them);
never one request per pod. What it could not read of Istio's injection is said on stderr.

A workload the policy cannot take effect on is listed after the table with why: no Istio
injection webhook injects its pods (a revision without an injector), or a namespace label sends
them to another revision. Restarting does not fix either.

So is every workload with pods that run Istio's proxy without mesh-tailor's tailoring (bypassed):
labelled mesh-tailor.io/skip: "true", which mesh-tailor leaves alone while the mesh is enabled,
or admitted without mesh-tailor (the webhook down: these are stale as well).

Exit codes: 0 nothing is stale, 3 something is (restart it: mesh-tailor rollout), 1 a workload
the policy cannot take effect on (or the work failed), 2 bad usage. Bypassed pods alone do not
change the exit code (a skip-labelled pod comes back skipped after a restart, and the rollback
reaches it regardless): they are listed.

Flags:
  --namespace GLOB     only namespaces matching (globs as in the policy: *, ?, [a-z], [!a-z], \\)
  --service GLOB       only services matching
  --stale              only workloads with stale pods
  --reason R           count a pod stale only for R: policy (admitting it again would change it:
                       its tailoring, or a proxy where the policy now says otherwise), dataplane
                       (a sidecar where the policy now says ambient, or the reverse),
                       proxy-version (a proxy from another revision than its service maps to
                       now, tags resolved, or another image than that revision injects now),
                       sidecar-mode (classic where that revision injects a native sidecar now,
                       or the reverse)
  --config FILE        the policy to judge by (default: the installed mesh-tailor/mesh-tailor-policy
                       ConfigMap, else the built-in one)
  --context CTX        kubeconfig context (default: the current one)
  -o, --output FMT     table (default), json or yaml`;

const FLAGS = {
  namespace: { type: "string" },
  service: { type: "string" },
  stale: { type: "boolean" },
  reason: { type: "string" },
  config: { type: "string" },
  context: { type: "string" },
  output: { type: "string", short: "o" },
} as const;

export function statusTable(report: StatusReport): string {
  // The connection switches get a column only when some workload has one; the stale pods by
  // reason, each its own column, only when more than one reason is at work.
  const connection = report.workloads.some((w) => w.connection !== undefined);
  const reasons = STALE_REASONS.filter((reason) => report.workloads.some((w) => w.staleBy[reason] > 0));
  const byReason = reasons.length > 1 ? reasons : [];
  return formatTable(
    [
      "NAMESPACE",
      "KIND",
      "NAME",
      "SERVICE",
      "POLICY",
      "PODS",
      "PROXY",
      "NO PROXY",
      "STALE",
      ...byReason.map((reason) => `STALE ${reason.toUpperCase()}`),
      ...(connection ? ["CONNECTION"] : []),
    ],
    report.workloads.map((w) => [
      w.namespace,
      w.kind,
      w.name,
      w.service ?? "-",
      w.inMesh === undefined ? "-" : w.inMesh ? `IN${w.dataplane === "ambient" ? " (ambient)" : w.revision ? ` (rev ${w.revision})` : ""}` : "OUT",
      String(w.pods),
      String(w.withProxy),
      String(w.withoutProxy),
      String(w.stale),
      ...byReason.map((reason) => String(w.staleBy[reason])),
      ...(connection ? [w.connection ?? "-"] : []),
    ]),
  );
}

export function summaryLine(report: StatusReport): string {
  const s = report.summary;
  const problems = s.problems > 0 ? `, ${s.problems} the policy cannot take effect on` : "";
  const bypassed = s.bypassedPods > 0 ? `, ${s.bypassedPods} pods injected by Istio without tailoring` : "";
  const ambient = s.servicesInAmbient > 0 ? ` (${s.servicesInAmbient} in ambient)` : "";
  return `${s.workloads} workloads: ${s.servicesInMesh} services in the mesh${ambient}, ${s.pendingMigration} pending migration, ${s.pendingRollback} pending rollback, ${s.stalePods} stale pods${problems}${bypassed} (policy ${report.policyRevision})`;
}

/** The pods by dataplane, and those with a sidecar by the revision that injected them. */
export function podsLine(report: StatusReport): string {
  const { sidecar, ambient, neither, byRevision } = report.summary.pods;
  const revisions = Object.entries(byRevision)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([revision, count]) => `${revision} ${count}`)
    .join(", ");
  return `pods: ${sidecar} with a sidecar${revisions ? ` (by revision: ${revisions})` : ""}, ${ambient} in ambient, ${neither} with neither`;
}

/** What of Istio's injection could not be read, when some pod has a sidecar it would judge: pods are not stale for it. */
export function unjudgedLines(report: StatusReport): string[] {
  if (report.summary.pods.sidecar === 0) return [];
  return (report.unjudged ?? []).map((text) => `not judged (proxy-version, sidecar-mode): ${text}`);
}

/** One line per workload the policy cannot take effect on, with why. */
export function problemLines(report: StatusReport): string[] {
  return report.workloads.filter((w) => w.problem).map((w) => `cannot take effect: ${w.namespace}/${w.kind.toLowerCase()}/${w.name}: ${w.problem}`);
}

/** One line per workload whose pods run Istio's proxy without mesh-tailor's tailoring, with why. */
export function bypassLines(report: StatusReport): string[] {
  return report.workloads
    .filter((w) => w.bypassed > 0)
    .map(
      (w) => `bypassed tailoring: ${w.namespace}/${w.kind.toLowerCase()}/${w.name}: ${w.bypassed} pod(s) with Istio's proxy, not tailored: ${w.bypassReason}`,
    );
}

export const statusCommand: Command = {
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommandLine(argv, FLAGS, HELP, io);
    if (!parsed) return EXIT_OK;
    const { values } = parsed;
    const format = values.output ?? "table";
    if (!["table", "json", "yaml"].includes(format)) throw new UsageError(`-o must be table, json or yaml, got "${format}"`);
    const filter = {
      namespace: globFlag("--namespace", values.namespace),
      service: globFlag("--service", values.service),
      staleOnly: values.stale,
      reason: choiceFlag("--reason", values.reason, STALE_REASONS),
    };
    return withClusterPolicy(values.context, values.config, import("../ops/status.js"), async (api, { policy, origin }, { readStatus }) => {
      const report = await readStatus(api, policy, filter);
      // What reading the cluster cost the API server, for whoever gates on it or measures it.
      const document = { policy: { origin, revision: policy.revision }, ...report, apiRequests: api.requests };
      if (format === "json") write(io.stdout, JSON.stringify(document, null, 2));
      else if (format === "yaml") write(io.stdout, stringify(document));
      else {
        if (report.workloads.length > 0) write(io.stdout, statusTable(report));
        for (const line of [...problemLines(report), ...bypassLines(report)]) write(io.stdout, line);
        write(io.stdout, summaryLine(report));
        write(io.stdout, podsLine(report));
        // Beside the table, not in it: what the reader should know it is not told.
        for (const line of unjudgedLines(report)) write(io.stderr, line);
      }
      if (report.summary.problems > 0) return EXIT_FAILED;
      return report.summary.stalePods > 0 ? EXIT_STALE : EXIT_OK;
    });
  },
};
