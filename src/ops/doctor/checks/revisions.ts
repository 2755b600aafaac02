import { injectableRevisions } from "../../../namespaces/webhook-configurations.js";
import { declareCheck, error, ok } from "../check.js";

/** Every revision the policy names has an Istio injection webhook, directly or through a tag. */
export const revisions = declareCheck({
  name: "revisions",
  summary: "every Istio revision the policy names has an injection webhook (a revision's or a tag's)",
  errorWhen: "a service's `revision` has no injection webhook: its pods would get no proxy at all",
  warningWhen: "",
  reads: ["policy", "configurations"],
  judge({ policy, configurations }) {
    const injectable = injectableRevisions(configurations);
    const named = new Map<string, string[]>();
    for (const entry of policy.policy.policy.services) {
      if (entry.revision) named.set(entry.revision, [...(named.get(entry.revision) ?? []), `${entry.namespace}/${entry.name}`]);
    }
    const missing = [...named.entries()].filter(([revision]) => !injectable.has(revision));
    if (missing.length === 0) {
      return ok(
        named.size === 0
          ? "the policy names no revision"
          : `injectors for ${[...named.keys()].map((r) => `${r}${injectable.get(r) !== r ? ` (tag of ${injectable.get(r)})` : ""}`).join(", ")}`,
      );
    }
    return missing.map(([revision, services]) =>
      error(
        `revision "${revision}" has no injection webhook, and ${services.join(", ")} ask${services.length === 1 ? "s" : ""} for it`,
        `istioctl tag set ${revision} --revision REV   (or install revision ${revision}, or change the policy)`,
      ),
    );
  },
});
