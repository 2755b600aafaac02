import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import forge from "node-forge";
import { parse } from "yaml";
import { CLUSTER_FILES, ROOT_CERT, ROOT_KEY } from "./istio-layout.js";
import { DAY_MS, ISTIOD_SAN } from "./mesh-ca.js";

export type Status = "ok" | "warn" | "fail";

export interface Finding {
  readonly target: string;
  readonly check: string;
  readonly status: Status;
  readonly detail: string;
}

export const EXPIRY_WARNING_DAYS = 30;

interface Extensions {
  basicConstraints?: { critical?: boolean; cA?: boolean; pathLenConstraint?: number };
  keyUsage?: { critical?: boolean; keyCertSign?: boolean; cRLSign?: boolean; digitalSignature?: boolean };
  extKeyUsage?: { serverAuth?: boolean };
  subjectKeyIdentifier?: unknown;
  authorityKeyIdentifier?: unknown;
}

function extensionsOf(pem: string): Extensions {
  const cert = forge.pki.certificateFromPem(pem);
  const get = (name: string) => cert.getExtension(name) as never;
  return {
    basicConstraints: get("basicConstraints"),
    keyUsage: get("keyUsage"),
    extKeyUsage: get("extKeyUsage"),
    subjectKeyIdentifier: get("subjectKeyIdentifier"),
    authorityKeyIdentifier: get("authorityKeyIdentifier"),
  };
}

/** A directory, or a link to one; false for anything else, a dangling link included. */
function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Splits a PEM bundle into its certificates. */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

class Checker {
  readonly findings: Finding[] = [];
  constructor(private readonly now: Date) {}

  add(target: string, check: string, ok: boolean, detail = ""): boolean {
    this.findings.push({ target, check, status: ok ? "ok" : "fail", detail });
    return ok;
  }

  load(path: string): X509Certificate | undefined {
    try {
      return new X509Certificate(readFileSync(path));
    } catch (error) {
      this.add(path, "certificate", false, (error as NodeJS.ErrnoException).code ?? (error as Error).message);
      return undefined;
    }
  }

  keyMatches(target: string, cert: X509Certificate, keyPath: string): void {
    try {
      if (existsSync(keyPath) && (statSync(keyPath).mode & 0o077) !== 0) {
        this.findings.push({
          target: keyPath,
          check: "key file mode",
          status: "warn",
          detail: `mode ${(statSync(keyPath).mode & 0o777).toString(8)}, expected 600`,
        });
      }
      this.add(target, "key matches certificate", cert.checkPrivateKey(createPrivateKey(readFileSync(keyPath))), keyPath);
    } catch (error) {
      this.add(target, "key matches certificate", false, `${keyPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }

  validity(target: string, cert: X509Certificate): void {
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    if (!this.add(target, "valid now", from <= this.now && this.now < to, `${cert.validFrom} to ${cert.validTo}`)) return;
    const daysLeft = Math.floor((to.getTime() - this.now.getTime()) / DAY_MS);
    if (daysLeft < EXPIRY_WARNING_DAYS)
      this.findings.push({ target, check: "expiry", status: "warn", detail: `expires in ${daysLeft} days (${cert.validTo})` });
  }

  caExtensions(target: string, pem: string, pathLength: number | undefined): void {
    const ext = extensionsOf(pem);
    const bc = ext.basicConstraints;
    this.add(target, "basicConstraints critical CA:true", bc?.critical === true && bc.cA === true);
    if (pathLength !== undefined)
      this.add(target, `pathlen:${pathLength}`, bc?.pathLenConstraint === pathLength, `pathlen ${bc?.pathLenConstraint ?? "unset"}`);
    const ku = ext.keyUsage;
    this.add(target, "keyUsage critical keyCertSign,cRLSign", ku?.critical === true && ku.keyCertSign === true && ku.cRLSign === true);
    this.add(target, "subject and authority key identifiers", ext.subjectKeyIdentifier !== undefined && ext.authorityKeyIdentifier !== undefined);
  }

  signedBy(target: string, cert: X509Certificate, issuer: X509Certificate, issuerName: string): boolean {
    return this.add(target, `signed by ${issuerName}`, cert.checkIssued(issuer) && cert.verify(issuer.publicKey));
  }
}

function verifyCluster(checker: Checker, dir: string, cluster: string, root: X509Certificate): void {
  const base = join(dir, cluster);
  const intermediate = checker.load(join(base, "ca-cert.pem"));
  if (!intermediate) return;
  const target = `${cluster}/ca-cert.pem`;
  checker.signedBy(target, intermediate, root, "root");
  checker.caExtensions(target, intermediate.toString(), 0);
  checker.add(target, `SAN ${ISTIOD_SAN}`, (intermediate.subjectAltName ?? "").includes(`DNS:${ISTIOD_SAN}`), intermediate.subjectAltName ?? "none");
  checker.add(
    target,
    "within the root's validity",
    new Date(intermediate.validTo) <= new Date(root.validTo),
    `ends ${intermediate.validTo}, root ends ${root.validTo}`,
  );
  checker.validity(target, intermediate);
  checker.keyMatches(target, intermediate, join(base, "ca-key.pem"));
  try {
    const chain = splitPem(readFileSync(join(base, "cert-chain.pem"), "utf8")).map((pem) => new X509Certificate(pem));
    checker.add(
      `${cluster}/cert-chain.pem`,
      "intermediate then root",
      chain.length === 2 && chain[0]!.fingerprint256 === intermediate.fingerprint256 && chain[1]!.fingerprint256 === root.fingerprint256,
      `${chain.length} certificates`,
    );
  } catch (error) {
    checker.add(`${cluster}/cert-chain.pem`, "intermediate then root", false, (error as Error).message);
  }
  const rootCopy = checker.load(join(base, ROOT_CERT));
  if (rootCopy) checker.add(`${cluster}/root-cert.pem`, "same as the mesh root", rootCopy.fingerprint256 === root.fingerprint256);
  const secretPath = join(base, "cacerts.yaml");
  if (existsSync(secretPath)) {
    try {
      const secret = parse(readFileSync(secretPath, "utf8")) as { kind?: unknown; metadata?: { name?: unknown }; data?: Record<string, unknown> } | null;
      const data = secret?.data ?? {};
      const matches = CLUSTER_FILES.every((name) => {
        const value = data[name];
        return typeof value === "string" && Buffer.from(value, "base64").toString() === readFileSync(join(base, name), "utf8");
      });
      checker.add(
        `${cluster}/cacerts.yaml`,
        "Secret cacerts with the four files",
        secret?.kind === "Secret" && secret?.metadata?.name === "cacerts" && matches,
      );
    } catch (error) {
      checker.add(`${cluster}/cacerts.yaml`, "Secret cacerts with the four files", false, (error as Error).message);
    }
  }
}

function verifyWebhook(checker: Checker, dir: string): void {
  const ca = checker.load(join(dir, "ca.crt"));
  const leaf = checker.load(join(dir, "tls.crt"));
  if (!ca || !leaf) return;
  checker.caExtensions("ca.crt", ca.toString(), undefined);
  checker.validity("ca.crt", ca);
  checker.signedBy("tls.crt", leaf, ca, "ca.crt");
  checker.add("tls.crt", "extendedKeyUsage serverAuth", extensionsOf(leaf.toString()).extKeyUsage?.serverAuth === true);
  checker.add("tls.crt", "has DNS or IP SANs", Boolean(leaf.subjectAltName), leaf.subjectAltName ?? "none");
  checker.validity("tls.crt", leaf);
  checker.keyMatches("tls.crt", leaf, join(dir, "tls.key"));
}

/** Checks a `certs bootstrap` directory (root and clusters) and/or a `certs webhook` directory. */
export function verifyDirectory(dir: string, now = new Date()): Finding[] {
  const checker = new Checker(now);
  const hasRoot = existsSync(join(dir, ROOT_CERT));
  const hasWebhook = existsSync(join(dir, "tls.crt"));
  if (!hasRoot && !hasWebhook) {
    checker.add(dir, "contents", false, `neither ${ROOT_CERT} (certs bootstrap) nor tls.crt (certs webhook) found`);
    return checker.findings;
  }
  if (hasRoot) {
    const root = checker.load(join(dir, ROOT_CERT));
    if (root) {
      checker.add(ROOT_CERT, "self-signed", root.checkIssued(root) && root.verify(root.publicKey));
      checker.caExtensions(ROOT_CERT, root.toString(), undefined);
      checker.validity(ROOT_CERT, root);
      checker.keyMatches(ROOT_CERT, root, join(dir, ROOT_KEY));
      // Clusters are directories, or links to them in a set written by certs (..data and its versions are not clusters).
      const clusters = readdirSync(dir).filter((name) => !name.startsWith("..") && isDirectory(join(dir, name)) && existsSync(join(dir, name, "ca-cert.pem")));
      if (clusters.length === 0) checker.findings.push({ target: dir, check: "clusters", status: "warn", detail: "no cluster intermediates yet" });
      for (const cluster of clusters) verifyCluster(checker, dir, cluster, root);
    }
  }
  if (hasWebhook) verifyWebhook(checker, dir);
  return checker.findings;
}
