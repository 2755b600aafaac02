import * as istio from "../keys/istio.js";
import * as meshTailor from "../keys/mesh-tailor.js";
import { runPipeline } from "../mutations/pipeline.js";
import { findIstioProxy } from "../pod/istio-proxy.js";
import { isPodLike, type Pod } from "../pod/types.js";
import { workloadOf, type Workload } from "../pod/workload.js";
import type { CompiledPolicy } from "../policy/load.js";
import type { KubeObject } from "../kube/object.js";

/** What the current policy makes of a pod template: the webhook's own pipeline, run on it. */
export interface TemplateVerdict {
  /** Whether a pod made from it now goes into the mesh; undefined when mesh-tailor skips it. */
  readonly selected: boolean | undefined;
  readonly service: string | undefined;
  readonly revision: string | undefined;
  /** The tailoring hash a pod made from it now records (mesh-tailor.io/tailoring). */
  readonly tailoring: string | undefined;
  readonly applied: readonly string[];
  readonly warnings: readonly string[];
}

export interface PodJudgement {
  readonly hasProxy: boolean;
  readonly verdict: TemplateVerdict;
  readonly stale: boolean;
  /** Why it is stale, in words. */
  readonly reasons: readonly string[];
}

/** The pod template of the controller that owns POD (a ReplicaSet, StatefulSet, DaemonSet or Job), as a pod. */
export function ownerTemplate(pod: KubeObject, ownersByUid: ReadonlyMap<string, KubeObject>): Pod | undefined {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller === true);
  const object = owner ? ownersByUid.get(owner.uid) : undefined;
  const template = (object?.["spec"] as { template?: unknown } | undefined)?.template;
  if (!isPodLike(template)) return undefined;
  // The owner references make the workload resolve as it does for the pod itself.
  return { ...template, metadata: { ...template.metadata, ownerReferences: pod.metadata.ownerReferences } } as Pod;
}

/** Runs the webhook's pipeline on TEMPLATE as if a pod were being created from it now. */
export function judgeTemplate(template: Pod, namespace: string, policy: CompiledPolicy, workload?: Workload): TemplateVerdict {
  const result = runPipeline({ pod: template, namespace, workload: workload ?? workloadOf(template) }, policy);
  const labels = result.pod.metadata?.labels ?? {};
  return {
    selected: result.skipped ? undefined : labels[istio.SIDECAR_INJECT] === "true",
    service: result.serviceName,
    revision: result.skipped ? undefined : labels[istio.REVISION],
    tailoring: result.skipped ? undefined : result.pod.metadata?.annotations?.[meshTailor.TAILORING],
    applied: result.applied,
    warnings: result.warnings,
  };
}

/**
 * Whether a running pod is as the current policy would make it now: tailored by the same part of
 * the policy (its mesh-tailor.io/tailoring hash: the policy's shared sections, the decision and
 * the matching services entry, so an edit to another service's entry leaves it current), and
 * with a proxy exactly when the policy selects its template. A pod in a namespace mesh-tailor
 * does not tailor is never stale (nothing of mesh-tailor's applies to it).
 */
export function judgePod(
  pod: KubeObject,
  template: Pod | undefined,
  namespaceEnabled: boolean,
  policy: CompiledPolicy,
  templateVerdict?: TemplateVerdict,
): PodJudgement {
  const asPod = pod as unknown as Pod;
  const hasProxy = isPodLike(pod) ? findIstioProxy(asPod) !== undefined : false;
  // The verdict on a shared template may be given: a workload's pods need it computed once.
  const verdict =
    (template && templateVerdict) || judgeTemplate(template ?? withoutOwnDecision(asPod), pod.metadata.namespace ?? "", policy, workloadOf(asPod));
  const reasons: string[] = [];
  if (namespaceEnabled && verdict.selected !== undefined) {
    const recorded = pod.metadata.annotations?.[meshTailor.TAILORING];
    if (recorded === undefined) reasons.push("admitted without mesh-tailor");
    else if (recorded !== verdict.tailoring)
      reasons.push(
        `admitted under policy ${pod.metadata.annotations?.[meshTailor.POLICY_REVISION] ?? "?"}, which tailored it differently from policy ${policy.revision}`,
      );
    if (hasProxy !== verdict.selected) reasons.push(verdict.selected ? "no proxy, but the policy selects it" : "a proxy, but the policy leaves it out");
  }
  return { hasProxy, verdict, stale: reasons.length > 0, reasons };
}

/**
 * A bare pod has no template: judge the pod itself, less the inject label mesh-tailor wrote
 * (it says "applied" only when it did), which would otherwise read as the user's own choice.
 */
export function withoutOwnDecision(pod: Pod): Pod {
  const labels = pod.metadata?.labels;
  if (!isPodLike(pod) || !labels || pod.metadata?.annotations?.[meshTailor.APPLIED] === undefined || !(istio.SIDECAR_INJECT in labels)) return pod;
  const { [istio.SIDECAR_INJECT]: _written, ...rest } = labels;
  return { ...pod, metadata: { ...pod.metadata, labels: rest } };
}
