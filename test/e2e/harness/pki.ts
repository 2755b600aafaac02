import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

// The throwaway PKI of the test control plane, made with openssl rather than with mesh-tailor's
// own certificate code: the cluster under test must not depend on the product under test.

export interface ControlPlanePki {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  /** Signs and verifies service account tokens. */
  readonly serviceAccountKey: string;
}

async function openssl(args: string[]): Promise<void> {
  await run("openssl", args);
}

async function issue(
  dir: string,
  name: string,
  subject: string,
  extensions: string[],
  ca: { cert: string; key: string },
): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    subject,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-keyout",
    key,
    "-out",
    cert,
    ...extensions.flatMap((extension) => ["-addext", extension]),
  ]);
  return { cert, key };
}

export async function createControlPlanePki(dir: string): Promise<ControlPlanePki> {
  const caCert = join(dir, "ca.crt");
  const caKey = join(dir, "ca.key");
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=mesh-tailor-e2e-ca",
    "-keyout",
    caKey,
    "-out",
    caCert,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  const ca = { cert: caCert, key: caKey };
  const server = await issue(
    dir,
    "apiserver",
    "/CN=kube-apiserver",
    ["subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc", "extendedKeyUsage=serverAuth", "basicConstraints=critical,CA:FALSE"],
    ca,
  );
  // kube-apiserver maps the client certificate's O to groups: system:masters bypasses RBAC.
  const admin = await issue(dir, "admin", "/O=system:masters/CN=e2e-admin", ["extendedKeyUsage=clientAuth", "basicConstraints=critical,CA:FALSE"], ca);
  const serviceAccountKey = join(dir, "service-account.key");
  await openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", serviceAccountKey]);
  return { caCert, caKey, serverCert: server.cert, serverKey: server.key, adminCert: admin.cert, adminKey: admin.key, serviceAccountKey };
}

/** A serving certificate for a test webhook on 127.0.0.1, from the same throwaway CA. */
export async function issueLoopbackServingCert(dir: string, name: string, pki: ControlPlanePki): Promise<{ cert: string; key: string }> {
  return issue(dir, name, `/CN=${name}`, ["subjectAltName=IP:127.0.0.1", "extendedKeyUsage=serverAuth", "basicConstraints=critical,CA:FALSE"], {
    cert: pki.caCert,
    key: pki.caKey,
  });
}
