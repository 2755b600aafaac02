// Why a pod is stale, in a module of its own: the CLI reads the reasons' names for its flags
// without loading the pipeline that judges pods.

/**
 * What judgePod finds (pod-state.ts): admitted without mesh-tailor; tailored by a policy that
 * shaped it differently; a proxy where the policy now says otherwise; the other dataplane; a
 * proxy from another revision or image than Istio injects now; a sidecar placed otherwise.
 */
export type StaleKind = "untailored" | "policy" | "injection" | "dataplane" | "proxy-version" | "sidecar-mode";

/**
 * Why a pod is stale, as `status` counts it and `--reason` selects it: `policy`, re-admitting it
 * would give it something else (its tailoring, or its proxy where the policy now says otherwise;
 * one admitted without mesh-tailor too); `dataplane`, a sidecar where the policy now says
 * ambient, or the reverse; `proxy-version`, its proxy came from another revision than the one its
 * service maps to now (tags resolved), or that revision injects another image now (an Istio
 * upgrade); `sidecar-mode`, a classic sidecar where that revision injects a native one now, or
 * the reverse.
 */
export const STALE_REASONS = ["policy", "dataplane", "proxy-version", "sidecar-mode"] as const;
export type StaleReasonName = (typeof STALE_REASONS)[number];
export const reasonOf = (kind: StaleKind): StaleReasonName => (kind === "untailored" || kind === "injection" ? "policy" : kind);
