import * as meshTailor from "../keys/mesh-tailor.js";
import type { KubeObject } from "../kube/object.js";
import type { CompiledPolicy } from "../policy/load.js";
import { desiredSidecar, isManaged, matchesDesired, type Sidecar } from "../namespaces/default-sidecar.js";
import { isEnabled } from "../namespaces/namespace-labels.js";
import { isTerminating, sandboxBaseOf } from "../namespaces/sandbox.js";

/** What to do about a namespace's `default` Sidecar. */
export type SidecarAction =
  | { readonly kind: "create"; readonly sidecar: Sidecar }
  /** Put back the managed Sidecar someone edited. */
  | { readonly kind: "restore"; readonly sidecar: Sidecar }
  | { readonly kind: "delete" }
  /** A `default` Sidecar mesh-tailor does not manage: left alone, reported once. */
  | { readonly kind: "foreign" }
  | { readonly kind: "none" };

/**
 * The default Sidecar a namespace should have: managed, with the policy's egress hosts, in
 * every enabled namespace while the policy asks for it; none otherwise. Pure: the namespace,
 * the policy and what exists in, the action out.
 */
export function decideSidecar(namespace: KubeObject, policy: CompiledPolicy, existing: Sidecar | undefined): SidecarAction {
  const wanted = isEnabled(namespace) && !isTerminating(namespace) && policy.policy.namespaces.defaultSidecar.enabled;
  if (existing && !isManaged(existing)) return { kind: wanted ? "foreign" : "none" };
  if (!wanted) return existing ? { kind: "delete" } : { kind: "none" };
  const desired = desiredSidecar(namespace.metadata.name, policy.policy);
  if (!existing) return { kind: "create", sidecar: desired };
  if (matchesDesired(existing, desired)) return { kind: "none" };
  // Only the spec and the managed-by label are restored; other labels and annotations stay.
  const labels = { ...existing.metadata.labels, ...desired.metadata.labels };
  return { kind: "restore", sidecar: { ...existing, metadata: { ...existing.metadata, labels }, spec: desired.spec! } };
}

/** What to do about a namespace's own label, for sandboxes that follow their base namespace. */
export type LabelAction =
  { readonly kind: "enable-sandbox"; readonly base: string } | { readonly kind: "disable-sandbox"; readonly base: string } | { readonly kind: "none" };

/**
 * Sandboxes follow their base namespace (sandbox.autoEnable): one whose base is enabled is
 * enabled too, and marked with the base's name; when the base is disabled, a sandbox so marked
 * and still enabled is disabled again. A sandbox the user labelled, or whose label the user
 * removed after it was enabled for them (the mark stays), is theirs: never touched.
 */
export function decideSandboxLabel(namespace: KubeObject, base: KubeObject | undefined, policy: CompiledPolicy): LabelAction {
  const { sandbox } = policy.policy;
  if (!sandbox.autoEnable || isTerminating(namespace)) return { kind: "none" };
  const baseName = sandboxBaseOf(namespace.metadata.name, policy);
  if (!baseName) return { kind: "none" };
  const label = namespace.metadata.labels?.[meshTailor.ENABLED];
  const markedFrom = namespace.metadata.annotations?.[meshTailor.SANDBOX_OF];
  if (isEnabled(base) && label === undefined && markedFrom === undefined) return { kind: "enable-sandbox", base: baseName };
  if (!isEnabled(base) && label === "true" && markedFrom === baseName) return { kind: "disable-sandbox", base: baseName };
  return { kind: "none" };
}

/** The merge patch that applies a label action. */
export function labelPatch(action: LabelAction): Record<string, unknown> | undefined {
  if (action.kind === "enable-sandbox")
    return { metadata: { labels: { [meshTailor.ENABLED]: "true" }, annotations: { [meshTailor.SANDBOX_OF]: action.base } } };
  if (action.kind === "disable-sandbox") return { metadata: { labels: { [meshTailor.ENABLED]: null }, annotations: { [meshTailor.SANDBOX_OF]: null } } };
  return undefined;
}
