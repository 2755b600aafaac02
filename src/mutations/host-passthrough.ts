import { labelOf, withLabel } from "../pod/edit.js";
import { unchanged, type Mutation } from "./types.js";
import * as meshTailor from "../keys/mesh-tailor.js";

/** Opts a selected service's pods into the Host-passthrough Lua filter. */
export const hostPassthrough: Mutation = {
  name: "host-passthrough",
  apply(pod, { decision }) {
    const mode = decision.entry?.hostPassthrough ?? "none";
    if (!decision.selected || mode === "none") return unchanged(pod);
    const existing = labelOf(pod, meshTailor.HOST_PASSTHROUGH);
    if (existing === undefined) return { pod: withLabel(pod, meshTailor.HOST_PASSTHROUGH, mode), warnings: [], inForce: true };
    if (existing === mode) return unchanged(pod, true);
    return unchanged(pod, false, [`mesh-tailor: kept ${meshTailor.HOST_PASSTHROUGH}="${existing}" as set on the pod; the policy says "${mode}"`]);
  },
};
