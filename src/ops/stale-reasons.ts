// Why a pod is stale, in a module of its own: the CLI reads the reasons' names for its flags
// without loading the pipeline that judges pods.

/**
 * What judgePod finds (pod-state.ts): admitted without mesh-tailor; tailored by a policy that
 * shaped it differently; a proxy where the policy now says otherwise; the other dataplane.
 */
export type StaleKind = "untailored" | "policy" | "injection" | "dataplane";

/**
 * Why a pod is stale, as `status` counts it and `--reason` selects it: `policy`, re-admitting it
 * would give it something else (its tailoring, or its proxy where the policy now says otherwise;
 * one admitted without mesh-tailor too); `dataplane`, a sidecar where the policy now says
 * ambient, or the reverse.
 */
export const STALE_REASONS = ["policy", "dataplane"] as const;
export type StaleReasonName = (typeof STALE_REASONS)[number];
export const reasonOf = (kind: StaleKind): StaleReasonName => (kind === "dataplane" ? "dataplane" : "policy");
