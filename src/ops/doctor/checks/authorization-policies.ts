import { selectorMatches } from "../../../kube/label-selector.js";
import * as istio from "../../../keys/istio.js";
import { authorizationFindings } from "../../ambient-gates.js";
import { declareCheck, error, ok } from "../check.js";

/** AuthorizationPolicies ztunnel cannot enforce as written: HTTP rules that select pods in ambient. */
export const authorizationPolicies = declareCheck({
  name: "authorization-policies",
  summary: "no AuthorizationPolicy applies to pods in ambient with HTTP rules ztunnel cannot enforce",
  errorWhen:
    "an AuthorizationPolicy applies to a pod in ambient (by `selector`, namespace-wide, or mesh-wide) and has HTTP rules: ztunnel then allows less or denies more than it says",
  warningWhen: "",
  reads: ["pods", "authorizationPolicies"],
  judge({ pods, authorizationPolicies }) {
    if (authorizationPolicies === undefined) return ok("AuthorizationPolicies cannot be read (forbidden): not checked");
    const problems = new Set<string>();
    for (const pod of pods) {
      const labels = pod.metadata.labels ?? {};
      if (labels[istio.DATAPLANE_MODE] !== istio.DATAPLANE_AMBIENT) continue;
      for (const problem of authorizationFindings(authorizationPolicies, pod.metadata.namespace ?? "", labels, selectorMatches)) problems.add(problem);
    }
    if (problems.size === 0) return ok("no AuthorizationPolicy selects a pod in ambient with HTTP rules");
    return [...problems].sort().map((problem) => error(problem.replace("selects its pods", "selects pods in ambient")));
  },
  fix: () =>
    "attach the policy to the service's waypoint (spec.targetRefs) instead of selecting its pods, or keep its rules to L4 (ports, principals, namespaces)",
});
