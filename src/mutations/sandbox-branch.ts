import { isLabelValue } from "../pod/k8s-names.js";
import { setUnlessUserSet } from "./edits.js";
import { unchanged, type Mutation } from "./types.js";

/**
 * Sandboxes: every workload carries its branch, `box-<id>` in a sandbox namespace and the default
 * branch elsewhere, so VirtualServices can route by `sourceLabels: {branch: ...}`.
 */
export const sandboxBranch: Mutation = {
  name: "branch",
  enabledBy: (policy) => policy.sandbox.enabled,
  apply(pod, { namespace, policy }) {
    const sandbox = policy.policy.sandbox;
    const branch = policy.sandboxGroups(namespace)?.["branch"] ?? sandbox.defaultBranch;
    if (!isLabelValue(branch)) {
      return unchanged(pod, false, [
        `mesh-tailor: branch "${branch}" taken from namespace "${namespace}" is not a valid label value; ${sandbox.labelKey} not set`,
      ]);
    }
    return setUnlessUserSet(pod, "labels", sandbox.labelKey, branch, `namespace "${namespace}" implies "${branch}"`);
  },
};
