import { setAllUnlessUserSet } from "./edits.js";
import { unchanged, type Mutation } from "./types.js";

/**
 * Any Istio pod setting per service: the entry's `labels` and `annotations` (Istio's and
 * mesh-tailor's keys only, checked by the policy schema), set on the service's selected pods.
 * A value the user set on the pod wins, with the standard warning.
 */
export const serviceSettings: Mutation = {
  name: "settings",
  selectedOnly: true,
  apply(pod, { decision }) {
    const labels = decision.entry?.labels ?? {};
    const annotations = decision.entry?.annotations ?? {};
    if (Object.keys(labels).length === 0 && Object.keys(annotations).length === 0) return unchanged(pod);
    const labelled = setAllUnlessUserSet(pod, "labels", labels);
    const annotated = setAllUnlessUserSet(labelled.pod, "annotations", annotations);
    return { pod: annotated.pod, warnings: [...labelled.warnings, ...annotated.warnings], inForce: labelled.inForce || annotated.inForce };
  },
};
