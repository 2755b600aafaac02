import { MESH_TAILOR_WEBHOOK_CONFIGURATION } from "../../../namespaces/webhook-configurations.js";
import { decodeSecret, expiry, pemCertificates } from "../certificates.js";
import { declareCheck, error } from "../check.js";
import { issueServingCertificate } from "./ca-bundle.js";

export const servingCertificate = declareCheck({
  name: "serving-certificate",
  summary: "the webhook's certificate names the Service kube-apiserver calls, and days until it expires",
  errorWhen: "expired, or not valid for `mesh-tailor.NS.svc`",
  warningWhen: "expires within 30 days",
  reads: ["now", "configurations", "installNamespace", "tlsSecretName", "tlsSecret"],
  judge({ now, configurations, installNamespace, tlsSecretName, tlsSecret }) {
    const own = configurations.find((c) => c.metadata.name === MESH_TAILOR_WEBHOOK_CONFIGURATION);
    // No Secret, or none readable: ca-bundle reports it.
    const [leaf] = tlsSecret === "forbidden" ? [] : pemCertificates(decodeSecret(tlsSecret, "tls.crt") ?? "");
    if (!own || !leaf) return [];
    const where = `Secret ${installNamespace}/${tlsSecretName}`;
    const service = own.webhooks?.[0]?.clientConfig?.service;
    const host = service?.name ? `${service.name}.${service.namespace}.svc` : undefined;
    if (host && leaf.checkHost(host) === undefined)
      return error(
        `the certificate in ${where} is not valid for ${host}, the name kube-apiserver calls`,
        issueServingCertificate(service?.namespace ?? installNamespace, true),
      );
    return expiry(`the webhook's certificate (${where})`, leaf, now, issueServingCertificate(installNamespace, true));
  },
});
