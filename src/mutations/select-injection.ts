import * as istio from "../keys/istio.js";
import { withLabel } from "../pod/edit.js";
import { setUnlessUserSet } from "./edits.js";
import type { Mutation } from "./types.js";

/**
 * Per-service migration and rollback: writes the decision as Istio's inject label, "false"
 * included, so a namespace-wide injection label cannot sweep in a service that has not migrated.
 * An ambient pod gets "false" and Istio's ambient label in the same admission, so it is never
 * in both dataplanes nor, in an ambient namespace, in neither; under the rollback a pod that
 * would be in ambient is written out of it.
 */
export const selectInjection: Mutation = {
  name: "inject",
  apply(pod, { decision }) {
    let labelled = withLabel(pod, istio.SIDECAR_INJECT, decision.injectLabel);
    if (decision.leaveAmbient) labelled = withLabel(labelled, istio.DATAPLANE_MODE, istio.DATAPLANE_NONE);
    if (!decision.selected) return { pod: labelled, warnings: decision.warnings, inForce: false };
    const warnings = [...decision.warnings];
    if (decision.dataplane === "ambient") {
      const enrolled = setUnlessUserSet(labelled, "labels", istio.DATAPLANE_MODE, istio.DATAPLANE_AMBIENT);
      labelled = enrolled.pod;
      warnings.push(...enrolled.warnings);
      const waypoint = decision.entry?.waypoint;
      if (waypoint !== undefined) {
        const through = setUnlessUserSet(labelled, "labels", istio.USE_WAYPOINT, waypoint);
        labelled = through.pod;
        warnings.push(...through.warnings);
      }
      return { pod: labelled, warnings, inForce: true };
    }
    const revision = decision.entry?.revision;
    if (!revision) return { pod: labelled, warnings, inForce: true };
    const revised = setUnlessUserSet(labelled, "labels", istio.REVISION, revision);
    return { pod: revised.pod, warnings: [...warnings, ...revised.warnings], inForce: true };
  },
};
