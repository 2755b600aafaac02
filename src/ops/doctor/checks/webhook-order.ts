import { isIstioInjector, MESH_TAILOR_WEBHOOK_CONFIGURATION } from "../../../namespaces/webhook-configurations.js";
import { declareCheck, error, ok, warning } from "../check.js";

/** kube-apiserver calls mutating webhook configurations in name order (Go string order). */
export const webhookOrder = declareCheck({
  name: "webhook-order",
  summary: `${MESH_TAILOR_WEBHOOK_CONFIGURATION} sorts before every Istio injector configuration (revision tags too) and is reinvoked after them`,
  errorWhen: `no \`${MESH_TAILOR_WEBHOOK_CONFIGURATION}\`, or an Istio injector configuration (revision tags included) sorts before it`,
  warningWhen: "not reinvoked after Istio (`reinvocationPolicy`), or no Istio injector installed",
  reads: ["configurations"],
  judge({ configurations }) {
    const own = configurations.find((c) => c.metadata.name === MESH_TAILOR_WEBHOOK_CONFIGURATION);
    if (!own)
      return error(
        `no MutatingWebhookConfiguration ${MESH_TAILOR_WEBHOOK_CONFIGURATION}: mesh-tailor is not installed, or under another name`,
        "kubectl apply -k manifests",
      );
    const istio = configurations.filter((c) => (c.webhooks ?? []).some((w) => isIstioInjector(w.name))).map((c) => c.metadata.name);
    const before = istio.filter((name) => name < MESH_TAILOR_WEBHOOK_CONFIGURATION);
    if (before.length > 0) {
      return error(
        `${before.join(", ")} sort${before.length === 1 ? "s" : ""} before ${MESH_TAILOR_WEBHOOK_CONFIGURATION}: Istio injects before mesh-tailor sets the labels it reads`,
        `give mesh-tailor's configuration a name that sorts before ${before[0]} (kube-apiserver orders them by name)`,
      );
    }
    const notReinvoked = own.webhooks?.filter((w) => w.reinvocationPolicy !== "IfNeeded").map((w) => w.name) ?? [];
    if (notReinvoked.length > 0)
      return warning(`${notReinvoked.join(", ")} is not reinvoked after Istio injects: its edits to istio-proxy never apply`, "kubectl apply -k manifests");
    if (istio.length === 0)
      return warning(
        `${MESH_TAILOR_WEBHOOK_CONFIGURATION} is installed, but no Istio injection webhook is`,
        "install Istio (its injector configuration is istio-sidecar-injector)",
      );
    return ok(`${MESH_TAILOR_WEBHOOK_CONFIGURATION} sorts before ${istio.join(", ")}, and is reinvoked after them`);
  },
});
