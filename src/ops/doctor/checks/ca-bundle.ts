import { MESH_TAILOR_WEBHOOK_CONFIGURATION } from "../../../namespaces/webhook-configurations.js";
import { chainsTo, decodeSecret, pemCertificates } from "../certificates.js";
import { declareCheck, error, ok, warning } from "../check.js";

/**
 * The command that issues and installs a serving certificate for the Service in NAMESPACE;
 * REPLACING one that exists takes --force (the caBundle then trusts both CAs during the change).
 */
export const issueServingCertificate = (namespace: string, replacing: boolean): string =>
  `mesh-tailor certs webhook --out ./mesh-tailor-tls --service mesh-tailor --namespace ${namespace} --apply${replacing ? " --force" : ""}`;

export const caBundle = declareCheck({
  name: "ca-bundle",
  summary: "every webhook's caBundle verifies the certificate in the TLS Secret the webhook mounts",
  errorWhen:
    "a webhook's caBundle does not verify the certificate in the TLS Secret (the one the webhook Deployment mounts), or there is none; the fix names cert-manager when it injects",
  warningWhen: "the Secret may not be read by this user",
  reads: ["configurations", "installNamespace", "tlsSecretName", "tlsSecret"],
  judge({ configurations, installNamespace, tlsSecretName, tlsSecret }) {
    const own = configurations.find((c) => c.metadata.name === MESH_TAILOR_WEBHOOK_CONFIGURATION);
    if (!own) return [];
    const where = `Secret ${installNamespace}/${tlsSecretName}`;
    if (tlsSecret === "forbidden")
      return warning(`cannot read ${where}: forbidden to this user`, `run doctor as a user who may get Secrets in ${installNamespace}`);
    const served = pemCertificates(decodeSecret(tlsSecret, "tls.crt") ?? "");
    const [leaf, ...intermediates] = served;
    if (!tlsSecret || !leaf)
      return error(
        `${where} ${tlsSecret ? "holds no tls.crt certificate" : "does not exist"}: the webhook cannot serve`,
        issueServingCertificate(installNamespace, tlsSecret !== undefined),
      );
    const untrusted = (own.webhooks ?? []).filter(
      (w) => !chainsTo(leaf, intermediates, pemCertificates(Buffer.from(w.clientConfig?.caBundle ?? "", "base64").toString("utf8"))),
    );
    if (untrusted.length === 0) return ok(`the caBundle of every webhook in ${MESH_TAILOR_WEBHOOK_CONFIGURATION} verifies the certificate in ${where}`);
    const injected = own.metadata.annotations?.["cert-manager.io/inject-ca-from"];
    return error(
      `the caBundle of ${untrusted.map((w) => w.name).join(", ")} does not verify the certificate in ${where}: kube-apiserver cannot call the webhook`,
      injected
        ? `kubectl -n cert-manager logs deploy/cert-manager-cainjector   (its CA injector sets the caBundle from ${injected})`
        : issueServingCertificate(installNamespace, true),
    );
  },
});
