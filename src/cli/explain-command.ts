import type { Explanation } from "../ops/explain.js";
import { EXPLAINABLE_KINDS, parseTarget } from "../ops/explain-target.js";
import { withClusterPolicy } from "./cluster-session.js";
import { EXIT_OK, parseCommandLine, UsageError, write, type Command } from "./command.js";

const HELP = `Usage: mesh-tailor explain -n NAMESPACE (NAME | KIND/NAME) [flags]

Explains, from the live cluster, what happens to the next pod of a workload (or to a pod made
from the same template): whether its namespace is enabled and which Istio labels it has, the
policy entry that matches its service, mesh-tailor's decision and why, which of the cluster's
Istio injection webhooks will inject it (their real selectors, against the labels mesh-tailor
sets first), the customizations that apply, and whether its running pods match the current
policy. \`mesh-tailor inject\` is the offline preview of the same pipeline.

KIND: pod, deployment, statefulset, daemonset, replicaset, job, cronjob (kubectl's short names too).
A NAME alone is a pod of that name, else the Deployment, StatefulSet, DaemonSet, CronJob or Job
of that name, in that order.

Flags:
  -n, --namespace NS   the namespace (required)
  --context CTX        kubeconfig context (default: the current one)
  --config FILE        the policy to judge by (default: the installed mesh-tailor/mesh-tailor-policy
                       ConfigMap, else the built-in one)
  -o, --output FMT     text (default) or json`;

const FLAGS = {
  namespace: { type: "string", short: "n" },
  context: { type: "string" },
  config: { type: "string" },
  output: { type: "string", short: "o" },
} as const;

/** An explanation as text, one line a fact; a value is never broken across lines. */
export function renderExplanation(e: Explanation): string {
  const lines: string[] = [];
  const yesNo = (value: boolean) => (value ? "yes" : "no");
  lines.push(`${e.target} in namespace ${e.namespace.name}`);
  lines.push(
    `  namespace enabled:   ${yesNo(e.namespace.enabled)}${e.namespace.istioLabels.length ? `; Istio labels: ${e.namespace.istioLabels.join(", ")}` : "; no Istio namespace label"}`,
  );
  if (e.namespace.warning) lines.push(`  warning:             ${e.namespace.warning}`);
  lines.push(`  policy:              ${e.policy.origin}, revision ${e.policy.revision}`);
  lines.push(`  service:             ${e.service ?? "(none: no service label, no workload)"}${e.workload ? ` (workload ${e.workload})` : ""}`);
  lines.push(
    `  policy entry:        ${e.entry ? `services[${e.entry.index}] ${JSON.stringify(e.entry.entry)}${e.entry.matchedBy ? `, matched by ${e.entry.matchedBy}` : ""}` : "none matches: defaults apply"}`,
  );
  if (e.untailored) lines.push(`  mesh-tailor:         does not tailor it: ${e.untailored}`);
  else if (e.decision)
    lines.push(
      `  decision:            ${e.decision.selected ? `INTO the mesh${e.decision.dataplane === "ambient" ? " (ambient: no sidecar, its traffic through the node's ztunnel)" : ""}` : "OUT of the mesh"}, because ${e.decision.reason}`,
    );
  lines.push(`  mesh-tailor webhook: ${e.meshTailorWebhookCalled ? "called" : "not called (its selectors do not match)"}`);
  if (Object.keys(e.sets).length > 0)
    lines.push(
      `  sets before Istio:   ${Object.entries(e.sets)
        // A value with a line break (a ProxyConfig's YAML) is quoted, so it never breaks the line.
        .map(([k, v]) => `${k}=${/[\s"]/.test(v) ? JSON.stringify(v) : v}`)
        .join(", ")}`,
    );
  const injecting = e.injectors.filter((i) => i.injects);
  lines.push(
    `  Istio injection:     ${injecting.length === 0 ? (e.injectors.length === 0 ? "no Istio injection webhook is installed" : "NOT injected: no Istio webhook matches") : `INJECTED by ${injecting.map((i) => `${i.webhook} (${i.configuration})`).join(", ")}`}`,
  );
  for (const injector of e.injectors.filter((i) => !i.injects)) lines.push(`    - ${injector.webhook} (${injector.configuration}): ${injector.why}`);
  if (e.customizations.length > 0) lines.push(`  customizations:      ${e.customizations.join(", ")}`);
  if (e.connection) lines.push(`  connection:          ${e.connection}`);
  for (const { gate, problem } of e.ambientGates ?? []) lines.push(`  ambient gate:        ${gate}: ${problem === undefined ? "passes" : `FAILS: ${problem}`}`);
  for (const warning of e.warnings) lines.push(`  note:                ${warning}`);
  lines.push(`  running pods:        ${e.pods.total}, ${e.pods.withProxy} with a proxy, ${e.pods.stale.length} stale`);
  for (const text of e.pods.unjudged ?? []) lines.push(`    not judged (proxy-version, sidecar-mode): ${text}`);
  for (const pod of e.pods.stale.slice(0, 20)) lines.push(`    - ${pod.name}: ${pod.reasons.join("; ")}`);
  if (e.pods.stale.length > 20) lines.push(`    ... and ${e.pods.stale.length - 20} more`);
  if (e.pods.stale.length > 0) lines.push(`  Restart the workload (kubectl rollout restart) so its pods are admitted under the current policy.`);
  return lines.join("\n");
}

export const explainCommand: Command = {
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommandLine(argv, FLAGS, HELP, io, true);
    if (!parsed) return EXIT_OK;
    const { values, positionals } = parsed;
    const format = values.output ?? "text";
    if (format !== "text" && format !== "json") throw new UsageError(`-o must be text or json, got "${format}"`);
    if (!values.namespace) throw new UsageError("-n NAMESPACE is required");
    if (positionals.length !== 1) throw new UsageError("name one pod, or one KIND/NAME");
    const target = parseTarget(positionals[0]!);
    if (!target) throw new UsageError(`"${positionals[0]}" is not POD or KIND/NAME with KIND one of ${EXPLAINABLE_KINDS.join(", ")}`);
    const namespace = values.namespace;
    return withClusterPolicy(values.context, values.config, import("../ops/explain.js"), async (api, { policy, origin }, { explain }) => {
      const explanation = await explain(api, namespace, target, policy, origin);
      write(io.stdout, format === "json" ? JSON.stringify(explanation, null, 2) : renderExplanation(explanation));
      return EXIT_OK;
    });
  },
};
