import * as k8s from "../keys/kubernetes.js";
import * as meshTailor from "../keys/mesh-tailor.js";
import { annotationOf, withAnnotation } from "../pod/edit.js";
import type { Pod } from "../pod/types.js";
import { workloadOf, type Workload } from "../pod/workload.js";
import type { CompiledPolicy } from "../policy/load.js";
import { describeValue } from "../util/describe-value.js";
import { ambientSidecarSettings } from "./ambient-sidecar-settings.js";
import { appKeepAlive } from "./app-keep-alive.js";
import { holdUntilProxyStarts } from "./hold-until-proxy-starts.js";
import { hostPassthrough } from "./host-passthrough.js";
import { http10 } from "./http10.js";
import { idleTimeout } from "./idle-timeout.js";
import { decideInjection, serviceNameOf } from "./injection-decision.js";
import { jobNativeSidecar } from "./job-native-sidecar.js";
import { locality } from "./locality.js";
import { localPortRange } from "./local-port-range.js";
import { pitfalls } from "./pitfalls.js";
import { proxyOutlivesApp } from "./proxy-outlives-app.js";
import { proxyResources } from "./proxy-resources.js";
import { sandboxBranch } from "./sandbox-branch.js";
import { selectInjection } from "./select-injection.js";
import { serviceProxyConfig } from "./service-proxy-config.js";
import { serviceSettings } from "./service-settings.js";
import { changesOf, recordedChanges, tailoringOf, withClassicProxy } from "./tailoring.js";
import { appliesTo, type InjectionDecision, type Mutation, type MutationContext } from "./types.js";
import { findIstioProxy } from "../pod/istio-proxy.js";
import { isSkipLabelled } from "../pod/skip-label.js";

const SYSTEM_NAMESPACES = new Set(["kube-system"]);

/** In order: the decision's labels first, then what Istio reads, then edits to its proxy; pitfalls see the result. */
export const MUTATIONS: readonly Mutation[] = [
  selectInjection,
  ambientSidecarSettings,
  proxyResources,
  serviceSettings,
  jobNativeSidecar,
  holdUntilProxyStarts,
  serviceProxyConfig,
  http10,
  idleTimeout,
  proxyOutlivesApp,
  locality,
  sandboxBranch,
  hostPassthrough,
  localPortRange,
  appKeepAlive,
  pitfalls,
];

export interface PipelineInput {
  readonly pod: Pod;
  readonly namespace: string;
  /** Set by `inject` for pod templates, whose owner is the enclosing object; else from ownerReferences. */
  readonly workload?: Workload | undefined;
}

export interface MutationFailure {
  readonly mutation: string;
  readonly error: Error;
}

export interface PipelineResult {
  readonly pod: Pod;
  readonly warnings: readonly string[];
  readonly applied: readonly string[];
  readonly failures: readonly MutationFailure[];
  readonly skipped?: string;
  readonly workload: Workload | undefined;
  readonly serviceName: string | undefined;
  /** The injection decision; undefined when the pod is skipped. */
  readonly decision?: InjectionDecision;
}

function skipReason(pod: Pod, namespace: string, policy: CompiledPolicy): string | undefined {
  if (SYSTEM_NAMESPACES.has(namespace)) return `namespace ${namespace} is never mutated`;
  if (annotationOf(pod, k8s.CONFIG_MIRROR) !== undefined) return "mirror pod";
  // The skip label exempts a pod from tailoring, never from the rollback: see inForceFor.
  if (isSkipLabelled(pod) && policy.policy.mesh.enabled) return `labelled ${meshTailor.SKIP}: "true" (only the system-wide rollback reaches it)`;
  return undefined;
}

/**
 * The customizations that run on a pod. A pod labelled to be skipped gets here only while the
 * system-wide rollback is on, and then gets the injection decision alone ("false", overriding
 * its own "true"), so that every pod Istio would inject in an enabled namespace is rolled back.
 */
const inForceFor = (pod: Pod, mutations: readonly Mutation[]): readonly Mutation[] =>
  isSkipLabelled(pod) ? mutations.filter((m) => m.name === selectInjection.name) : mutations;

/**
 * Runs every customization over a pod. Pure: the input is never modified. A mutation that
 * throws is left out and reported; the others still apply, so a bug never blocks a pod.
 */
export function runPipeline(input: PipelineInput, policy: CompiledPolicy, mutations: readonly Mutation[] = MUTATIONS): PipelineResult {
  const { namespace } = input;
  const workload = input.workload ?? workloadOf(input.pod);
  const serviceName = serviceNameOf(input.pod, policy.policy.mesh.serviceLabelKeys, workload);
  const skipped = skipReason(input.pod, namespace, policy);
  if (skipped) return { pod: input.pod, warnings: [], applied: [], failures: [], skipped, workload, serviceName };

  const decision = decideInjection(input.pod, namespace, serviceName, policy, workload);
  const context: MutationContext = { namespace, workload, serviceName, decision, policy };
  const inForce = inForceFor(input.pod, mutations);
  const run = applyMutations(input.pod, context, inForce);
  const { warnings, applied, failures } = run;
  let pod = withAnnotation(run.pod, meshTailor.APPLIED, applied.length > 0 ? applied.join(",") : "none");
  const recorded = annotationOf(pod, meshTailor.POLICY_REVISION);
  if (recorded !== policy.revision) {
    // A pod copied from a live one carries its policy revision: it is a record, not a setting.
    if (recorded !== undefined)
      warnings.push(
        `mesh-tailor: ${meshTailor.POLICY_REVISION} ${describeValue(recorded)} replaced with "${policy.revision}", the policy this pod is admitted under`,
      );
    pod = withAnnotation(pod, meshTailor.POLICY_REVISION, policy.revision);
  }
  const tailoring = tailoringRecorded(input.pod, policy) ?? tailoringOf(recordedChanges(changesOf(input.pod, run.pod)), proxyEdits(run.pod, context, inForce));
  if (annotationOf(pod, meshTailor.TAILORING) !== tailoring) pod = withAnnotation(pod, meshTailor.TAILORING, tailoring);
  return { pod, warnings, applied, failures, workload, serviceName, decision };
}

interface Applied {
  readonly pod: Pod;
  readonly warnings: string[];
  readonly applied: string[];
  readonly failures: MutationFailure[];
}

function applyMutations(input: Pod, context: MutationContext, mutations: readonly Mutation[]): Applied {
  let pod = input;
  const warnings: string[] = [];
  const applied: string[] = [];
  const failures: MutationFailure[] = [];
  for (const mutation of mutations) {
    if (!appliesTo(mutation, context)) continue;
    try {
      const result = mutation.apply(pod, context);
      pod = result.pod;
      warnings.push(...result.warnings);
      if (result.inForce) applied.push(mutation.name);
    } catch (error) {
      const cause = error instanceof Error ? error : new Error(String(error));
      failures.push({ mutation: mutation.name, error: cause });
      warnings.push(`mesh-tailor: the "${mutation.name}" customization failed and was skipped (${cause.message}); the pod is admitted without it`);
    }
  }
  return { pod, warnings, applied, failures };
}

/**
 * The edits the pipeline makes to the istio-proxy Istio's classic injection adds to a pod going
 * into the mesh with a sidecar, for a pod that has none yet: kube-apiserver calls the webhook again after Istio,
 * and what it writes then belongs in the record made now.
 */
function proxyEdits(pod: Pod, context: MutationContext, mutations: readonly Mutation[]): string[] | undefined {
  // An ambient pod gets no proxy: nothing is edited after Istio.
  if (context.decision.dataplane !== "sidecar" || findIstioProxy(pod)) return undefined;
  const injected = withClassicProxy(pod);
  return changesOf(injected, applyMutations(injected, context, mutations).pod);
}

/**
 * The record an earlier call of this admission made (kube-apiserver calls the webhook before and
 * after Istio's injector), under the policy in force: kept, so that a call on a pod already
 * tailored changes nothing. A record under another policy (a pod copied from a live one) is not.
 */
function tailoringRecorded(pod: Pod, policy: CompiledPolicy): string | undefined {
  return annotationOf(pod, meshTailor.POLICY_REVISION) === policy.revision ? annotationOf(pod, meshTailor.TAILORING) : undefined;
}
