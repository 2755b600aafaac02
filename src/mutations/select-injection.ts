import * as istio from "../keys/istio.js";
import { labelOf, withLabel } from "../pod/edit.js";
import type { Mutation } from "./types.js";

/**
 * Per-service migration and rollback: writes the decision as Istio's inject label, "false"
 * included, so a namespace-wide injection label cannot sweep in a service that has not migrated.
 */
export const selectInjection: Mutation = {
  name: "inject",
  apply(pod, { decision }) {
    const warnings = [...decision.warnings];
    let result = withLabel(pod, istio.SIDECAR_INJECT, decision.injectLabel);
    const revision = decision.entry?.revision;
    if (decision.selected && revision) {
      const userRevision = labelOf(pod, istio.REVISION);
      if (userRevision === undefined) {
        result = withLabel(result, istio.REVISION, revision);
      } else if (userRevision !== revision) {
        warnings.push(`mesh-tailor: pod sets ${istio.REVISION}="${userRevision}", which wins over the policy's revision "${revision}"`);
      }
    }
    return { pod: result, warnings, inForce: decision.selected };
  },
};
