import type { KubeApi } from "../kube/client.js";
import { selectorQuery, type LabelSelector } from "../kube/label-selector.js";
import type { KubeObject } from "../kube/object.js";

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

const conditionsOf = (object: KubeObject): readonly Condition[] => (object["status"] as { conditions?: Condition[] } | undefined)?.conditions ?? [];
const said = (condition: Condition): string => `${condition.reason ?? condition.type}${condition.message ? `: ${condition.message}` : ""}`;

/** The clearest word on why pods of a workload are not coming up, as the API shows it; undefined when nothing says. */
export function stuckCause(workload: KubeObject, replicaSets: readonly KubeObject[], pods: readonly KubeObject[]): string | undefined {
  // A ReplicaSet that cannot create its pods says why (an admission webhook, a quota): first, as it is the root.
  const failing = [workload, ...replicaSets].flatMap((o) => conditionsOf(o).filter((c) => c.type === "ReplicaFailure" && c.status === "True"));
  if (failing[0]) return `pods cannot be created: ${said(failing[0])}`;
  const unscheduled = pods.flatMap((pod) =>
    conditionsOf(pod)
      .filter((c) => c.type === "PodScheduled" && c.status === "False")
      .map((c) => ({ pod, c })),
  );
  if (unscheduled[0]) return `${unscheduled.length} pod(s) not scheduled: ${said(unscheduled[0].c)} (pod ${unscheduled[0].pod.metadata.name})`;
  for (const pod of pods) {
    const statuses =
      (pod["status"] as { containerStatuses?: { name: string; state?: { waiting?: { reason?: string; message?: string } } }[] } | undefined)
        ?.containerStatuses ?? [];
    const waiting = statuses.find((s) => s.state?.waiting?.reason && s.state.waiting.reason !== "ContainerCreating");
    if (waiting)
      return `pod ${pod.metadata.name}: container ${waiting.name} waiting: ${waiting.state!.waiting!.reason}${waiting.state!.waiting!.message ? `: ${waiting.state!.waiting!.message}` : ""}`;
  }
  const unready = pods.find((pod) => conditionsOf(pod).some((c) => c.type === "Ready" && c.status === "False" && (c.reason || c.message)));
  if (unready) return `pod ${unready.metadata.name} not ready: ${said(conditionsOf(unready).find((c) => c.type === "Ready")!)}`;
  return undefined;
}

/** Reads what stuckCause needs for WORKLOAD (its ReplicaSets and its pods, one paged LIST each) and says it; never throws. */
export async function readStuckCause(api: Pick<KubeApi, "list">, kind: string, workload: KubeObject): Promise<string | undefined> {
  try {
    const selector = (workload["spec"] as { selector?: LabelSelector } | undefined)?.selector;
    if (!selector) return undefined;
    const namespace = workload.metadata.namespace ?? "";
    const query = { labelSelector: selectorQuery(selector) };
    const [replicaSets, pods] = await Promise.all([
      kind === "Deployment"
        ? api
            .list(`/apis/apps/v1/namespaces/${namespace}/replicasets`, query)
            .then((l) => l.items.filter((rs) => rs.metadata.ownerReferences?.some((o) => o.uid === workload.metadata.uid)))
        : Promise.resolve([]),
      api.list(`/api/v1/namespaces/${namespace}/pods`, query).then((l) => l.items.filter((pod) => !pod.metadata.deletionTimestamp)),
    ]);
    return stuckCause(workload, replicaSets, pods);
  } catch {
    return undefined;
  }
}
