import { isEnabled } from "../../../namespaces/namespace-labels.js";
import { istioInjectsEveryPod } from "../../../namespaces/webhook-configurations.js";
import { declareCheck, ok, warning } from "../check.js";

/** Namespaces where Istio injects a pod that carries no label at all, and mesh-tailor is not enabled. */
export const untailoredNamespaces = declareCheck({
  name: "untailored-namespaces",
  summary: "namespaces Istio injects but mesh-tailor does not tailor",
  errorWhen: "",
  warningWhen: "namespaces Istio injects (its real selectors, a pod with no labels) that mesh-tailor does not tailor, with the `namespaces enable` line",
  reads: ["namespaces", "configurations", "installNamespace"],
  judge({ namespaces, configurations, installNamespace }) {
    const skipped = new Set(["kube-system", "istio-system", installNamespace]);
    const untailored = namespaces
      .filter((ns) => !skipped.has(ns.metadata.name) && !isEnabled(ns) && istioInjectsEveryPod(configurations, ns))
      .map((ns) => ns.metadata.name)
      .sort();
    if (untailored.length === 0) return ok("Istio injects no namespace that mesh-tailor does not tailor");
    const shown = untailored.slice(0, 10).join(", ") + (untailored.length > 10 ? `, and ${untailored.length - 10} more` : "");
    return warning(
      `Istio injects every pod of ${untailored.length} namespace(s) that mesh-tailor does not tailor: ${shown}`,
      `mesh-tailor namespaces enable ${untailored.slice(0, 10).join(" ")}`,
    );
  },
});
