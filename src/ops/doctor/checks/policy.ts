import { declareCheck, ok } from "../check.js";

/** The policy the other checks judge by: reading it is the check; an invalid one fails it with the problems. */
export const policy = declareCheck({
  name: "policy",
  summary: "the policy doctor judges by (--config, else the installed ConfigMap, else the built-in one) is valid",
  errorWhen: "the policy is invalid (each problem named by field); the checks that need it say so too",
  warningWhen: "",
  reads: ["policy"],
  judge({ policy: resolved }) {
    const { policy, origin } = resolved;
    return ok(
      `${origin}: revision ${policy.revision}, ${policy.policy.services.length} service entr${policy.policy.services.length === 1 ? "y" : "ies"}, mesh ${policy.policy.mesh.enabled ? "enabled" : "DISABLED (system-wide rollback)"}`,
    );
  },
});
