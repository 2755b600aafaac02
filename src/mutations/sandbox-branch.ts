import { labelOf, withLabel } from "../pod/edit.js";
import { isLabelValue } from "../pod/k8s-names.js";
import { unchanged, type Mutation } from "./types.js";

/**
 * Sandboxes: every workload carries its branch, `box-<id>` in a sandbox namespace and the default
 * branch elsewhere, so VirtualServices can route by `sourceLabels: {branch: ...}`.
 */
export const sandboxBranch: Mutation = {
  name: "branch",
  apply(pod, { namespace, policy }) {
    const sandbox = policy.policy.sandbox;
    if (!sandbox.enabled) return unchanged(pod);
    const branch = policy.sandboxPattern.exec(namespace)?.groups?.["branch"] ?? sandbox.defaultBranch;
    if (!isLabelValue(branch)) {
      return unchanged(pod, false, [`mesh-tailor: branch "${branch}" taken from namespace "${namespace}" is not a valid label value; ${sandbox.labelKey} not set`]);
    }
    const existing = labelOf(pod, sandbox.labelKey);
    if (existing === undefined) return { pod: withLabel(pod, sandbox.labelKey, branch), warnings: [], inForce: true };
    if (existing === branch) return unchanged(pod, true);
    return unchanged(pod, false, [`mesh-tailor: kept ${sandbox.labelKey}="${existing}" as set on the pod; namespace "${namespace}" implies "${branch}"`]);
  },
};
