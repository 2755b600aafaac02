import { labelOf, withLabel } from "../pod/edit.js";
import { unchanged, type Mutation } from "./types.js";

// The EnvoyFilters rendered by `mesh-tailor render host-passthrough` select pods on this label.
export const HOST_PASSTHROUGH_LABEL = "mesh-tailor.io/host-passthrough";

/** Opts a selected service's pods into the Host-passthrough Lua filter. */
export const hostPassthrough: Mutation = {
  name: "host-passthrough",
  apply(pod, { decision }) {
    const mode = decision.entry?.hostPassthrough ?? "none";
    if (!decision.selected || mode === "none") return unchanged(pod);
    const existing = labelOf(pod, HOST_PASSTHROUGH_LABEL);
    if (existing === undefined) return { pod: withLabel(pod, HOST_PASSTHROUGH_LABEL, mode), warnings: [], inForce: true };
    if (existing === mode) return unchanged(pod, true);
    return unchanged(pod, false, [`mesh-tailor: kept ${HOST_PASSTHROUGH_LABEL}="${existing}" as set on the pod; the policy says "${mode}"`]);
  },
};
