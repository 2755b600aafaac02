import { declareCheck, error, ok, warning, type Finding } from "../check.js";
import type { Deployment } from "../facts.js";

function availability(name: string, deployment: Deployment): Finding {
  const namespace = deployment.metadata.namespace ?? "";
  const want = deployment.spec?.replicas ?? 1;
  const available = deployment.status?.availableReplicas ?? 0;
  const describe = `Deployment ${namespace}/${name}: ${available} of ${want} replicas available`;
  if (want === 0 || available === 0) return error(describe, `kubectl -n ${namespace} describe deployment ${name}`);
  if (available < want) return warning(describe, `kubectl -n ${namespace} get pods -l app.kubernetes.io/name=${name}`);
  return ok(describe);
}

export const webhook = declareCheck({
  name: "webhook",
  summary: "the webhook's Deployment is available",
  errorWhen: "no replica available (or none asked for), or no Deployment",
  warningWhen: "fewer replicas available than asked for",
  reads: ["installNamespace", "webhookDeployment"],
  judge({ installNamespace, webhookDeployment }) {
    if (!webhookDeployment) return error(`no Deployment ${installNamespace}/mesh-tailor`, "kubectl apply -k manifests");
    return availability("mesh-tailor", webhookDeployment);
  },
});

export const controller = declareCheck({
  name: "controller",
  summary: "the controller's Deployment is available, when the policy needs it",
  errorWhen: "no replica available (or none asked for)",
  warningWhen: "fewer replicas available than asked for; no controller while the policy needs one",
  reads: ["installNamespace", "controllerDeployment", "policy"],
  judge({ installNamespace, controllerDeployment, policy }) {
    if (controllerDeployment) return availability("mesh-tailor-controller", controllerDeployment);
    const { namespaces, sandbox } = policy.policy.policy;
    if (!namespaces.defaultSidecar.enabled && !sandbox.autoEnable) return ok("not installed, and the policy asks nothing of it");
    return warning(
      `no Deployment ${installNamespace}/mesh-tailor-controller: enabled namespaces get no default Sidecar and sandboxes are not enabled with their base`,
      "kubectl apply -f manifests/controller.yaml",
    );
  },
});
