import type { KubeApi } from "../kube/client.js";
import { selectorQuery, type LabelSelector } from "../kube/label-selector.js";
import type { KubeObject } from "../kube/object.js";
import type { Pod } from "../pod/types.js";
import type { CompiledPolicy } from "../policy/load.js";
import { judgePod } from "./pod-state.js";
import type { IstioInjectors } from "./proxy-staleness.js";

/**
 * After a workload's rollout is done, whether its pods came up tailored: each running pod judged
 * as `status` judges it (admitted by mesh-tailor, as the policy wants it, injected as it asks, with
 * the proxy Istio injects now).
 * Returns why not, for the first pod that is not, so that "done" means tailored and a rerun does
 * not restart forever what a restart cannot fix. One paged LIST of the workload's pods.
 */
export function tailoredCheck(api: Pick<KubeApi, "list">, policy: CompiledPolicy, injectors: IstioInjectors | undefined) {
  return async (workload: KubeObject): Promise<string | undefined> => {
    const spec = workload["spec"] as { selector?: LabelSelector; template?: Pod } | undefined;
    if (!spec?.selector || !spec.template) return undefined;
    const namespace = workload.metadata.namespace ?? "";
    const { items } = await api.list(`/api/v1/namespaces/${namespace}/pods`, { labelSelector: selectorQuery(spec.selector) });
    const pods = items.filter((pod) => !pod.metadata.deletionTimestamp && pod.metadata.ownerReferences?.some((o) => o.controller === true));
    let notTailored = 0;
    let first: string | undefined;
    for (const pod of pods) {
      const template = { ...spec.template, metadata: { ...spec.template.metadata, namespace, ownerReferences: pod.metadata.ownerReferences } } as Pod;
      const judged = judgePod(pod, template, true, policy, undefined, injectors);
      if (!judged.stale) continue;
      notTailored += 1;
      first ??= `pod ${pod.metadata.name}: ${judged.reasons.join("; ")}`;
    }
    return first ? `rolled out, but ${notTailored} of ${pods.length} pod(s) are not as the policy wants them: ${first}` : undefined;
  };
}
