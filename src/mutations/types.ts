import type { CompiledPolicy } from "../policy/load.js";
import type { Dataplane, ServiceEntry, TailorPolicy } from "../policy/schema.js";
import type { Pod } from "../pod/types.js";
import type { Workload } from "../pod/workload.js";

/** Whether a pod goes into the mesh, decided once per admission before any mutation runs. */
export interface InjectionDecision {
  readonly selected: boolean;
  /** How a selected pod joins the mesh; undefined when it stays out. */
  readonly dataplane: Dataplane | undefined;
  /** The `sidecar.istio.io/inject` label value to write: "true" only for a sidecar. */
  readonly injectLabel: "true" | "false";
  /** A pod kept out of the mesh that would otherwise be in ambient (the rollback): written out of it. */
  readonly leaveAmbient: boolean;
  readonly entry: ServiceEntry | undefined;
  /** What the entry matched: the service name, or the workload's name (for `explain`). */
  readonly matchedBy?: string | undefined;
  /** Why, in words, for `explain`. */
  readonly reason: string;
  readonly warnings: readonly string[];
}

export interface MutationContext {
  readonly namespace: string;
  readonly workload: Workload | undefined;
  readonly serviceName: string | undefined;
  readonly decision: InjectionDecision;
  readonly policy: CompiledPolicy;
}

export interface MutationResult {
  readonly pod: Pod;
  readonly warnings: readonly string[];
  /**
   * The customization's effect is on the pod as the policy wants it, whether this call wrote it
   * or an earlier one did. Feeds `mesh-tailor.io/applied`, which must come out the same on every
   * call for the pipeline to be idempotent.
   */
  readonly inForce: boolean;
}

export interface Mutation {
  /** Short name: the tag in `mesh-tailor.io/applied`, the metric label, the file name's root. */
  readonly name: string;
  /** Runs only for pods going into the mesh (the pipeline gates it). */
  readonly selectedOnly?: boolean;
  /** Runs only for pods going into the mesh with a sidecar: it shapes the sidecar, which an ambient pod has none of. */
  readonly sidecarOnly?: boolean;
  /** Runs only when this part of the policy turns it on (the pipeline gates it). */
  readonly enabledBy?: (policy: TailorPolicy) => boolean;
  /** What it changes; called only when the declarations above hold. */
  apply(pod: Pod, context: MutationContext): MutationResult;
}

/** Whether MUTATION runs for this pod: its declarations, checked in one place for every customization. */
export const appliesTo = (mutation: Mutation, context: MutationContext): boolean =>
  (!mutation.selectedOnly || context.decision.selected) &&
  (!mutation.sidecarOnly || context.decision.dataplane === "sidecar") &&
  (!mutation.enabledBy || mutation.enabledBy(context.policy.policy));

export const unchanged = (pod: Pod, inForce = false, warnings: readonly string[] = []): MutationResult => ({ pod, warnings, inForce });
