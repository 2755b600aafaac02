import * as istio from "../keys/istio.js";
import { withLabel } from "../pod/edit.js";
import { setUnlessUserSet } from "./edits.js";
import type { Mutation } from "./types.js";

/**
 * Per-service migration and rollback: writes the decision as Istio's inject label, "false"
 * included, so a namespace-wide injection label cannot sweep in a service that has not migrated.
 */
export const selectInjection: Mutation = {
  name: "inject",
  apply(pod, { decision }) {
    const labelled = withLabel(pod, istio.SIDECAR_INJECT, decision.injectLabel);
    const revision = decision.entry?.revision;
    if (!decision.selected || !revision) return { pod: labelled, warnings: decision.warnings, inForce: decision.selected };
    const revised = setUnlessUserSet(labelled, "labels", istio.REVISION, revision);
    return { pod: revised.pod, warnings: [...decision.warnings, ...revised.warnings], inForce: true };
  },
};
