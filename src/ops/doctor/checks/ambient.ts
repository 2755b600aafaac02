import { ambientServices } from "../../../policy/dataplane.js";
import { nodeAgents } from "../../ambient-gates.js";
import { declareCheck, error, ok, warning } from "../check.js";

/** When the policy puts any service in ambient: istio-cni and ztunnel run, ready, on the same nodes. */
export const ambient = declareCheck({
  name: "ambient",
  summary: "istio-cni and ztunnel are ready when the policy puts any service in ambient",
  errorWhen: "a service is in ambient and no ztunnel or no istio-cni pod is ready",
  warningWhen: "a node runs a ready ztunnel without a ready istio-cni, or the reverse",
  reads: ["policy", "pods"],
  judge({ policy, pods }) {
    const { names: inAmbient, byDefault } = ambientServices(policy.policy.policy);
    if (inAmbient.length === 0 && !byDefault) return ok("the policy puts no service in ambient");
    const who =
      inAmbient.length > 0
        ? `services ${inAmbient.slice(0, 5).join(", ")}${inAmbient.length > 5 ? ` and ${inAmbient.length - 5} more` : ""}`
        : "defaults.dataplane";
    const { ztunnel, "istio-cni": cni } = nodeAgents(pods);
    const missing = [
      ztunnel.size === 0 ? "ztunnel (pods labelled app=ztunnel)" : undefined,
      cni.size === 0 ? "istio-cni (pods labelled k8s-app=istio-cni-node)" : undefined,
    ].filter((m) => m !== undefined);
    if (missing.length > 0)
      return error(
        `${who}: in ambient, but no ${missing.join(" and no ")} is ready: their pods would have no mesh`,
        "install Istio's ambient components: istioctl install --set profile=ambient (or the istio-cni and ztunnel charts)",
      );
    const uneven = [...new Set([...ztunnel, ...cni])].filter((node) => ztunnel.has(node) !== cni.has(node)).sort();
    if (uneven.length > 0)
      return warning(
        `ztunnel and istio-cni are not both ready on node(s) ${uneven.slice(0, 5).join(", ")}${uneven.length > 5 ? ` and ${uneven.length - 5} more` : ""}: an ambient pod there has no mesh`,
        "kubectl -n istio-system get pods -l 'app=ztunnel' -o wide; kubectl -n istio-system get pods -l 'k8s-app=istio-cni-node' -o wide",
      );
    return ok(`${who} in ambient: ztunnel and istio-cni ready on ${ztunnel.size} node(s)`);
  },
});
