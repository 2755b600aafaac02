import { stringify } from "yaml";
import type { IssuedCertificate } from "./mesh-ca.js";

// Istio's plug-in CA layout (istio.io "Plug in CA Certificates"; the Secret istiod reads is
// `cacerts` in istio-system, with these four keys).
export const CACERTS_SECRET = "cacerts";
export const ISTIO_NAMESPACE = "istio-system";
export const ROOT_CERT = "root-cert.pem";
export const ROOT_KEY = "root-key.pem";
export const CLUSTER_FILES = ["ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"] as const;

export interface PlannedFile {
  readonly path: string;
  readonly content: string;
  /** 0600 for keys, 0644 for certificates. */
  readonly mode: number;
}

export const KEY_MODE = 0o600;
export const CERT_MODE = 0o644;

const withNewline = (pem: string): string => (pem.endsWith("\n") ? pem : `${pem}\n`).replace(/\r\n/g, "\n");

/** The four values of a cluster's `cacerts` Secret. */
export function cacertsData(root: IssuedCertificate | { certPem: string }, intermediate: IssuedCertificate): Record<(typeof CLUSTER_FILES)[number], string> {
  return {
    "ca-cert.pem": withNewline(intermediate.certPem),
    "ca-key.pem": withNewline(intermediate.keyPem),
    "cert-chain.pem": withNewline(intermediate.certPem) + withNewline(root.certPem),
    "root-cert.pem": withNewline(root.certPem),
  };
}

/** The `cacerts` Secret as YAML, ready for `kubectl apply -f`. */
export function cacertsSecretYaml(data: Record<string, string>): string {
  return stringify({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: CACERTS_SECRET, namespace: ISTIO_NAMESPACE },
    type: "Opaque",
    data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString("base64")])),
  });
}

export function rootFiles(dir: string, root: IssuedCertificate): PlannedFile[] {
  return [
    { path: `${dir}/${ROOT_CERT}`, content: withNewline(root.certPem), mode: CERT_MODE },
    { path: `${dir}/${ROOT_KEY}`, content: withNewline(root.keyPem), mode: KEY_MODE },
  ];
}

export function clusterFiles(dir: string, cluster: string, root: { certPem: string }, intermediate: IssuedCertificate): PlannedFile[] {
  const data = cacertsData(root, intermediate);
  return [
    ...CLUSTER_FILES.map((name) => ({ path: `${dir}/${cluster}/${name}`, content: data[name], mode: name.endsWith("key.pem") ? KEY_MODE : CERT_MODE })),
    { path: `${dir}/${cluster}/cacerts.yaml`, content: cacertsSecretYaml(data), mode: KEY_MODE },
  ];
}
