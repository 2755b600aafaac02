import * as istioKeys from "../../../keys/istio.js";
import { declareCheck, ok, warning } from "../check.js";

export const istio = declareCheck({
  name: "istio",
  summary: "the istiod revisions (and versions) and revision tags installed",
  errorWhen: "",
  warningWhen: "no istiod Deployment; otherwise lists the revisions, their versions and the revision tags",
  reads: ["istiods", "configurations"],
  judge({ istiods, configurations }) {
    const revisions = istiods.map((d) => {
      const image = d.spec?.template?.spec?.containers?.[0]?.image ?? "";
      const tag = image.includes(":") ? image.slice(image.lastIndexOf(":") + 1) : "unknown";
      return `${d.metadata.labels?.[istioKeys.REVISION] ?? "default"} (${tag})`;
    });
    const tags = configurations
      .filter((c) => c.metadata.labels?.[istioKeys.REVISION_TAG])
      .map((c) => `${c.metadata.labels![istioKeys.REVISION_TAG]} -> ${c.metadata.labels?.[istioKeys.REVISION] ?? "?"}`);
    if (revisions.length === 0)
      return warning("no istiod Deployment in istio-system: nothing answers the injection webhooks", "kubectl -n istio-system get deployments -l app=istiod");
    return ok(`istiod revisions: ${revisions.join(", ")}${tags.length ? `; revision tags: ${tags.join(", ")}` : ""}`);
  },
});
