import { CACERTS_SECRET, ISTIO_NAMESPACE } from "../../../certs/istio-layout.js";
import { decodeSecret, expiry, pemCertificates } from "../certificates.js";
import { declareCheck, error, warning } from "../check.js";

// A new intermediate from the root the operator keeps (its directory is theirs to name); then
// istiod is restarted, as the command says.
const FIX = "mesh-tailor certs add-cluster --out ./mesh-ca --cluster CLUSTER --apply";

/** The mesh CA Istio signs workload certificates with (istio-system/cacerts, `certs bootstrap`). */
export const meshCa = declareCheck({
  name: "mesh-ca",
  summary: `days until ${ISTIO_NAMESPACE}/${CACERTS_SECRET} (intermediate and root) expires`,
  errorWhen: `\`${ISTIO_NAMESPACE}/${CACERTS_SECRET}\` expired`,
  warningWhen: `no \`${CACERTS_SECRET}\` (Istio's self-signed root), or it expires within 30 days`,
  reads: ["now", "meshCa"],
  judge({ now, meshCa: secret }) {
    if (secret === "forbidden")
      return warning(
        `cannot read ${ISTIO_NAMESPACE}/${CACERTS_SECRET}: forbidden to this user`,
        `run doctor as a user who may get Secrets in ${ISTIO_NAMESPACE}`,
      );
    if (!secret) {
      return warning(
        `no ${ISTIO_NAMESPACE}/${CACERTS_SECRET}: Istio signs with a self-signed root of its own, and a second cluster later means rotating it everywhere`,
        "mesh-tailor certs bootstrap --out ./mesh-ca --clusters CLUSTER --apply",
      );
    }
    return (
      [
        ["ca-cert.pem", "the cluster's intermediate (cacerts ca-cert.pem)"],
        ["root-cert.pem", "the mesh root (cacerts root-cert.pem)"],
      ] as const
    ).map(([key, what]) => {
      const [certificate] = pemCertificates(decodeSecret(secret, key) ?? "");
      return certificate ? expiry(what, certificate, now, FIX) : error(`${ISTIO_NAMESPACE}/${CACERTS_SECRET} has no ${key}`, FIX);
    });
  },
});
