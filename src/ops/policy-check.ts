import type { KubeApi } from "../kube/client.js";
import type { CompiledPolicy } from "../policy/load.js";
import { readStatus } from "./status.js";

export interface PolicyFinding {
  readonly level: "error" | "warning";
  readonly text: string;
}

/**
 * A policy held against the live cluster before it is installed: workloads it cannot take
 * effect on (a revision with no injector: error; a namespace label that overrides a revision:
 * warning), and entries that match no workload in any namespace (a typo, or a service not
 * deployed yet: warning). Every namespace is judged, enabled or not, with the webhook's own
 * pipeline; one paged LIST per kind.
 */
export async function checkPolicyAgainstCluster(api: Pick<KubeApi, "list" | "get">, policy: CompiledPolicy): Promise<PolicyFinding[]> {
  const report = await readStatus(api, policy, { allNamespaces: true });
  const findings: PolicyFinding[] = [];
  if (!report.injectors) findings.push({ level: "warning", text: "cannot read MutatingWebhookConfigurations: Istio's injectors are not checked" });
  for (const row of report.workloads) {
    if (!row.problem) continue;
    const level = row.problem.startsWith("no Istio injection webhook") ? "error" : "warning";
    findings.push({ level, text: `${row.namespace}/${row.kind.toLowerCase()}/${row.name}${row.service ? ` (service ${row.service})` : ""}: ${row.problem}` });
  }
  const matched = new Set(report.workloads.map((row) => row.entryIndex).filter((index) => index !== undefined));
  policy.policy.services.forEach((entry, index) => {
    if (!matched.has(index))
      findings.push({
        level: "warning",
        text: `services[${index}] (name: ${entry.name}, namespace: ${entry.namespace}) decides for no workload in the cluster (it matches none, or an earlier entry decides first): a typo, or not deployed yet?`,
      });
  });
  return findings;
}
