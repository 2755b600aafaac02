import { declareCheck, ok, warning, type Finding } from "../check.js";
import { judgeIstiod } from "../istiod-settings.js";
import { describeSize, describeThreshold, isLarge, meshSize } from "../mesh-size.js";

/** istiod's push settings, judged against the cluster's size: at their defaults past Istio's load-tested mesh, each with the value to set. */
export const istiodTuning = declareCheck({
  name: "istiod-tuning",
  summary: "istiod's push settings suit the cluster's size (Services, pods with a proxy)",
  errorWhen: "",
  warningWhen:
    "past 1,000 Services or 2,000 pods with a proxy (Istio's own load test), an istiod with `PILOT_FILTER_GATEWAY_CLUSTER_CONFIG`, `PILOT_PUSH_THROTTLE`, `PILOT_DEBOUNCE_AFTER` or `PILOT_DEBOUNCE_MAX` at its default: each with the value to set and why",
  reads: ["istiods", "serviceCount", "pods", "namespaces"],
  judge({ istiods, serviceCount, pods, namespaces }) {
    const size = meshSize(serviceCount, pods, namespaces.length);
    if (!isLarge(size)) return ok(`${describeSize(size)}: within ${describeThreshold()}, where Istio's defaults hold`);
    if (istiods.length === 0) return ok(`${describeSize(size)}, and no istiod Deployment in istio-system to judge`);
    return istiods.map((istiod): Finding => {
      const name = `${istiod.metadata.namespace ?? "istio-system"}/${istiod.metadata.name}`;
      const judged = judgeIstiod(istiod, size);
      if (!judged) return warning(`istiod ${name} has no container to read its settings from`);
      const unseen = judged.unseen.length > 0 ? `; not judged, as set from a ConfigMap, Secret or envFrom: ${judged.unseen.join(", ")}` : "";
      if (judged.advice.length === 0) return ok(`istiod ${name} at ${describeSize(size)}: its push settings are set for this size${unseen}`);
      const advice = judged.advice.map((a) => `${a.name} is ${a.now}: set ${a.value}, as ${a.why}`);
      const assignments = judged.advice.map((a) => `${a.name}=${a.value}`).join(" ");
      const namespace = istiod.metadata.namespace ?? "istio-system";
      return warning(
        `istiod ${name} at ${describeSize(size)} (past ${describeThreshold()}): ${advice.join("; ")}${unseen}`,
        `kubectl -n ${namespace} set env deployment/${istiod.metadata.name} -c ${judged.container} ${assignments}   (installed with Helm: the same under pilot.env)`,
      );
    });
  },
});
