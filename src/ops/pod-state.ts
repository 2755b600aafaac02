import * as istio from "../keys/istio.js";
import * as meshTailor from "../keys/mesh-tailor.js";
import { runPipeline, type PipelineResult } from "../mutations/pipeline.js";
import { changesOf, recordedChanges } from "../mutations/tailoring.js";
import { findIstioProxy } from "../pod/istio-proxy.js";
import { isSkipLabelled } from "../pod/skip-label.js";
import { isPodLike, type Pod } from "../pod/types.js";
import { workloadOf, type Workload } from "../pod/workload.js";
import { describeConnection } from "../policy/connection.js";
import type { CompiledPolicy } from "../policy/load.js";
import type { Dataplane } from "../policy/schema.js";
import type { KubeObject } from "../kube/object.js";
import { proxyStaleness, type IstioInjectors } from "./proxy-staleness.js";
import type { StaleKind } from "./stale-reasons.js";

/** What the current policy makes of a pod template: the webhook's own pipeline, run on it. */
export interface TemplateVerdict {
  /** Whether a pod made from it now goes into the mesh; undefined when mesh-tailor skips it (such a pod is never stale). */
  readonly selected: boolean | undefined;
  /** How it goes into the mesh: with a sidecar, or in ambient; undefined when it stays out. */
  readonly dataplane: Dataplane | undefined;
  readonly service: string | undefined;
  readonly revision: string | undefined;
  /** The tailoring hash a pod made from it now records (mesh-tailor.io/tailoring). */
  readonly tailoring: string | undefined;
  readonly applied: readonly string[];
  readonly warnings: readonly string[];
  /** A pod's labels once the webhook has admitted it: what Istio's injection webhooks select on. */
  readonly labels: Readonly<Record<string, string>>;
  /** Its annotations then: what Istio's injection template reads (proxy image, native sidecar). */
  readonly annotations: Readonly<Record<string, string>>;
  /** The services entry that decided, by its index in the policy; undefined when none did. */
  readonly entryIndex: number | undefined;
  /** The connection switches a pod made from it gets, in words; undefined when it goes into the mesh with none. */
  readonly connection: string | undefined;
}

export type { StaleKind };

export interface StaleReason {
  readonly kind: StaleKind;
  readonly text: string;
}

export interface PodJudgement {
  readonly hasProxy: boolean;
  readonly verdict: TemplateVerdict;
  readonly stale: boolean;
  /** Why it is stale, in words. */
  readonly reasons: readonly string[];
  /** The same, with their kinds. */
  readonly why: readonly StaleReason[];
}

/** The pod template of the controller that owns POD (a ReplicaSet, StatefulSet, DaemonSet or Job), as a pod. */
export function ownerTemplate(pod: KubeObject, ownersByUid: ReadonlyMap<string, KubeObject>): Pod | undefined {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller === true);
  const object = owner ? ownersByUid.get(owner.uid) : undefined;
  const template = (object?.["spec"] as { template?: unknown } | undefined)?.template;
  if (!isPodLike(template)) return undefined;
  // The owner references make the workload resolve as it does for the pod itself.
  return { ...template, metadata: { ...template.metadata, ownerReferences: pod.metadata.ownerReferences } };
}

/** Runs the webhook's pipeline on TEMPLATE as if a pod were being created from it now. */
export function judgeTemplate(template: Pod, namespace: string, policy: CompiledPolicy, workload?: Workload): TemplateVerdict {
  return verdictOf(runPipeline({ pod: template, namespace, workload: workload ?? workloadOf(template) }, policy), policy);
}

function verdictOf(result: PipelineResult, policy: CompiledPolicy): TemplateVerdict {
  const labels = result.pod.metadata?.labels ?? {};
  // As the labels written say it: Istio's injector reads the one, ztunnel's enrolment the other.
  const dataplane = result.skipped ? undefined : dataplaneOfLabels(labels);
  return {
    selected: result.skipped ? undefined : dataplane !== undefined,
    dataplane,
    service: result.serviceName,
    revision: result.skipped ? undefined : labels[istio.REVISION],
    tailoring: result.skipped ? undefined : result.pod.metadata?.annotations?.[meshTailor.TAILORING],
    applied: result.applied,
    warnings: result.warnings,
    labels,
    annotations: result.pod.metadata?.annotations ?? {},
    entryIndex: result.decision?.entry ? policy.policy.services.indexOf(result.decision.entry) : undefined,
    connection: dataplane === "sidecar" ? describeConnection(result.decision?.entry, policy.policy) : undefined,
  };
}

/**
 * Whether a running pod is as the current policy would make it now: the webhook, admitting its
 * template now, would write what it wrote then (its mesh-tailor.io/tailoring record, compared
 * with the one the template gets now: an edit that changes no pod, such as another service's
 * entry or a controller setting, leaves it current), it has a proxy exactly when the policy
 * selects its template, and, when INJECTORS says what Istio injects now, its proxy is that one.
 * A pod in a namespace mesh-tailor does not tailor is never stale (nothing of mesh-tailor's
 * applies to it).
 */
export function judgePod(
  pod: KubeObject,
  template: Pod | undefined,
  namespaceEnabled: boolean,
  policy: CompiledPolicy,
  templateVerdict?: TemplateVerdict,
  injectors?: IstioInjectors,
): PodJudgement {
  const asPod = pod as unknown as Pod;
  const proxy = isPodLike(pod) ? findIstioProxy(asPod) : undefined;
  const hasProxy = proxy !== undefined;
  const namespace = pod.metadata.namespace ?? "";
  let verdict: TemplateVerdict;
  let retailored: boolean;
  if (template) {
    // The verdict on a shared template may be given: a workload's pods need it computed once.
    verdict = templateVerdict ?? judgeTemplate(template, namespace, policy, workloadOf(asPod));
    retailored = pod.metadata.annotations?.[meshTailor.TAILORING] !== verdict.tailoring;
  } else {
    // A bare pod is its own template, tailored already: it is stale when admitting it as it is
    // (less the inject label mesh-tailor wrote) would change something on it.
    const result = runPipeline({ pod: withoutOwnDecision(asPod), namespace, workload: workloadOf(asPod) }, policy);
    verdict = verdictOf(result, policy);
    retailored = isPodLike(pod) && recordedChanges(changesOf(asPod, result.pod)).length > 0;
  }
  const why: StaleReason[] = [];
  if (namespaceEnabled && verdict.selected !== undefined) {
    const recorded = pod.metadata.annotations?.[meshTailor.TAILORING];
    if (recorded === undefined) {
      // A skip-labelled pod is judged here only under the rollback, which would give it nothing
      // but "false": it is stale for its proxy alone (below), so a rollback restarts only those
      // of them that run one.
      if (!(isSkipLabelled(pod) && isSkipLabelled({ metadata: { labels: verdict.labels } })))
        why.push({ kind: "untailored", text: "admitted without mesh-tailor" });
    } else if (retailored) {
      const then = pod.metadata.annotations?.[meshTailor.POLICY_REVISION] ?? "?";
      why.push({ kind: "policy", text: `admitted under policy ${then}; admitted now, under policy ${policy.revision}, it would be tailored differently` });
    }
    const wantsProxy = verdict.dataplane === "sidecar";
    if (hasProxy && verdict.dataplane === "ambient") {
      why.push({ kind: "dataplane", text: "a sidecar, but the policy puts it in ambient" });
    } else if (!hasProxy && wantsProxy && pod.metadata.labels?.[istio.DATAPLANE_MODE] === istio.DATAPLANE_AMBIENT) {
      why.push({ kind: "dataplane", text: "in ambient, but the policy gives it a sidecar" });
    } else if (hasProxy !== wantsProxy) {
      why.push({ kind: "injection", text: wantsProxy ? "no proxy, but the policy selects it" : "a proxy, but the policy leaves it out" });
    } else if (proxy && injectors) {
      // The injection it actually got, against what Istio would inject now (proxy-staleness.ts).
      why.push(...proxyStaleness(pod, proxy, verdict, injectors));
    }
  }
  return { hasProxy, verdict, stale: why.length > 0, reasons: why.map((w) => w.text), why };
}

/**
 * A bare pod has no template: judge the pod itself, less the decision mesh-tailor wrote (the
 * inject label, and the ambient label beside it; it says "applied" only when it did), which
 * would otherwise read as the user's own choice.
 */
export function withoutOwnDecision(pod: Pod): Pod {
  const labels = pod.metadata?.labels;
  if (!isPodLike(pod) || !labels || pod.metadata?.annotations?.[meshTailor.APPLIED] === undefined || !(istio.SIDECAR_INJECT in labels)) return pod;
  const { [istio.SIDECAR_INJECT]: _written, [istio.DATAPLANE_MODE]: _mode, ...rest } = labels;
  return { ...pod, metadata: { ...pod.metadata, labels: rest } };
}

/** The dataplane a pod with LABELS joins: a sidecar when Istio's injector is asked to inject it, ambient when enrolled by its own label. */
export function dataplaneOfLabels(labels: Readonly<Record<string, string>>): Dataplane | undefined {
  if (labels[istio.SIDECAR_INJECT] === "true") return "sidecar";
  if (labels[istio.DATAPLANE_MODE] === istio.DATAPLANE_AMBIENT) return "ambient";
  return undefined;
}
