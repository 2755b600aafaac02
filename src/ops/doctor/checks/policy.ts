import { declareCheck, error, ok, warning, type Finding } from "../check.js";
import type { ServedPolicy } from "../facts.js";

const served = (what: ServedPolicy): string =>
  what.read
    ? `the webhook serves revision ${what.revisions.join(", ") || "?"}${what.refused ? " (and refuses the policy it was last given)" : ""}`
    : `what the webhook serves could not be read: ${what.why}`;

/**
 * The policy the other checks judge by, and what the webhook actually serves: an invalid
 * installed policy is an error (the webhook keeps the last valid one, and says which).
 */
export const policy = declareCheck({
  name: "policy",
  summary: "the policy (--config, else the installed ConfigMap, else built-in) is valid, and the revision the webhook serves",
  errorWhen: "the policy is invalid (each problem named by field); the checks that need it say so too, the others still run",
  warningWhen: "the webhook serves another revision, or refuses the policy it was given",
  reads: ["policyValidity", "servedPolicy"],
  judge({ policyValidity, servedPolicy }): Finding {
    const fix =
      "mesh-tailor policy validate FILE   then: kubectl -n mesh-tailor create configmap mesh-tailor-policy --from-file=policy.yaml=FILE --dry-run=client -o yaml | kubectl apply -f -";
    if (policyValidity.problems) {
      return error(`${policyValidity.origin} is invalid: ${policyValidity.problems.slice(0, 3).join("; ")}; ${served(servedPolicy)}`, fix);
    }
    const described = `${policyValidity.origin}: revision ${policyValidity.revision}, ${policyValidity.services} service entries, mesh ${policyValidity.meshEnabled ? "enabled" : "DISABLED (system-wide rollback)"}`;
    if (servedPolicy.read && (servedPolicy.refused || servedPolicy.revisions.some((r) => r !== policyValidity.revision))) {
      return warning(
        `${described}; but ${served(servedPolicy)}`,
        "kubectl -n mesh-tailor logs deploy/mesh-tailor   (a refused policy is logged with its problems; a new one takes up to the poll period to load)",
      );
    }
    return ok(`${described}; ${served(servedPolicy)}`);
  },
});
