import { labelOf, withLabel } from "../pod/edit.js";
import { INJECT_KEY } from "./injection-decision.js";
import type { Mutation } from "./types.js";

// Istio's revision label; a revision's injector selects on it (istio/api label.IoIstioRev).
export const REVISION_KEY = "istio.io/rev";

/**
 * Per-service migration and rollback: writes the decision as Istio's inject label, "false"
 * included, so a namespace-wide injection label cannot sweep in a service that has not migrated.
 */
export const selectInjection: Mutation = {
  name: "inject",
  apply(pod, { decision }) {
    const warnings = [...decision.warnings];
    let result = withLabel(pod, INJECT_KEY, decision.injectLabel);
    const revision = decision.entry?.revision;
    if (decision.selected && revision) {
      const userRevision = labelOf(pod, REVISION_KEY);
      if (userRevision === undefined) {
        result = withLabel(result, REVISION_KEY, revision);
      } else if (userRevision !== revision) {
        warnings.push(`mesh-tailor: pod sets ${REVISION_KEY}="${userRevision}", which wins over the policy's revision "${revision}"`);
      }
    }
    return { pod: result, warnings, inForce: decision.selected };
  },
};
