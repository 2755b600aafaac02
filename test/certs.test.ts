import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer } from "node:tls";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { generateRsaKeyPair } from "../src/certs/keys.js";
import { createCertificate } from "../src/certs/x509.js";
import { FakeKubeApi } from "./fixtures/fake-kube-api.js";
import { cli } from "./fixtures/run-cli.js";

const temp = (): string => mkdtempSync(join(tmpdir(), "mesh-tailor-certs-"));
const openssl = (...args: string[]) => spawnSync("openssl", args, { encoding: "utf8" });
const text = (path: string): string => execFileSync("openssl", ["x509", "-in", path, "-noout", "-text"], { encoding: "utf8" });

/** What a reader of the directory sees: its files (through the set's links) as names. */
const listed = (dir: string): string[] =>
  readdirSync(dir)
    .filter((name) => !name.startsWith(".."))
    .sort();

/** Every file a reader sees under a directory, with its bytes' hash and mode, to prove a refusal wrote nothing. */
function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  const result: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of listed(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else result[path] = `${createHash("sha256").update(readFileSync(path)).digest("hex")} ${statSync(path).mode.toString(8)}`;
    }
  };
  walk(dir);
  return result;
}

/** A workload leaf certificate signed by a cluster's intermediate, as istiod would issue. */
async function leafFrom(clusterDir: string, host: string): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateRsaKeyPair(2048);
  const certPem = createCertificate({
    subject: { commonName: host },
    publicKeyPem: keys.publicKeyPem,
    signer: { privateKeyPem: readFileSync(join(clusterDir, "ca-key.pem"), "utf8"), certificatePem: readFileSync(join(clusterDir, "ca-cert.pem"), "utf8") },
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    isCa: false,
    dnsNames: [host],
    serverAuth: true,
  });
  return { certPem, keyPem: keys.privateKeyPem };
}

function handshake(port: number, ca: string, servername: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername }, () => {
      socket.end();
      resolve();
    });
    socket.on("error", reject);
  });
}

describe("certs bootstrap", () => {
  const dir = join(temp(), "mesh");
  let run: Awaited<ReturnType<typeof cli>>;
  before(async () => {
    run = await cli(["certs", "bootstrap", "--out", dir, "--clusters", "east,west", "--org", "Acme", "--key-size", "2048"]);
  });

  it("writes exactly Istio's plug-in CA layout, keys 0600 in 0700 directories", () => {
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(listed(dir), ["east", "root-cert.pem", "root-key.pem", "west"]);
    for (const cluster of ["east", "west"]) {
      assert.deepEqual(listed(join(dir, cluster)), ["ca-cert.pem", "ca-key.pem", "cacerts.yaml", "cert-chain.pem", "root-cert.pem"]);
      assert.equal(statSync(join(dir, cluster)).mode & 0o777, 0o700);
      assert.equal(statSync(join(dir, cluster, "ca-key.pem")).mode & 0o777, 0o600);
    }
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, "root-key.pem")).mode & 0o777, 0o600);
  });

  it("makes a root openssl accepts: self-signed, critical CA and keyUsage, key identifiers", () => {
    const root = join(dir, "root-cert.pem");
    assert.match(openssl("verify", "-CAfile", root, root).stdout, /: OK/);
    const output = text(root);
    assert.match(output, /Subject: O ?= ?Acme, CN ?= ?Root CA/);
    assert.match(output, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(output, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    assert.match(output, /Subject Key Identifier/);
    assert.match(output, /Authority Key Identifier/);
  });

  it("makes per-cluster intermediates openssl accepts, pathlen:0 with istiod's SAN", () => {
    for (const cluster of ["east", "west"]) {
      const cert = join(dir, cluster, "ca-cert.pem");
      assert.match(openssl("verify", "-CAfile", join(dir, "root-cert.pem"), cert).stdout, /: OK/);
      const output = text(cert);
      assert.match(output, new RegExp(`Subject: O ?= ?Acme, L ?= ?${cluster}, CN ?= ?Intermediate CA`));
      assert.match(output, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
      assert.match(output, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
      assert.match(output, /DNS:istiod\.istio-system\.svc/);
    }
  });

  it("gives every certificate its own random serial", () => {
    const serials = ["root-cert.pem", "east/ca-cert.pem", "west/ca-cert.pem"].map((p) => new X509Certificate(readFileSync(join(dir, p))).serialNumber);
    assert.equal(new Set(serials).size, 3);
    assert.ok(
      serials.every((s) => s.length >= 30),
      serials.join(),
    );
  });

  it("writes cert-chain.pem as intermediate then root, and a root-cert.pem copy", () => {
    const chain = readFileSync(join(dir, "east", "cert-chain.pem"), "utf8");
    assert.equal(chain, readFileSync(join(dir, "east", "ca-cert.pem"), "utf8") + readFileSync(join(dir, "root-cert.pem"), "utf8"));
    assert.equal(readFileSync(join(dir, "east", "root-cert.pem"), "utf8"), readFileSync(join(dir, "root-cert.pem"), "utf8"));
  });

  it("writes cacerts.yaml: the Secret cacerts in istio-system with the four keys", () => {
    const secret = parse(readFileSync(join(dir, "east", "cacerts.yaml"), "utf8")) as { kind: string; metadata: unknown; data: Record<string, string> };
    assert.equal(secret.kind, "Secret");
    assert.deepEqual(secret.metadata, { name: "cacerts", namespace: "istio-system" });
    assert.deepEqual(Object.keys(secret.data).sort(), ["ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"]);
    for (const [key, value] of Object.entries(secret.data)) assert.equal(Buffer.from(value, "base64").toString(), readFileSync(join(dir, "east", key), "utf8"));
  });

  it("lets a leaf from one cluster's intermediate be trusted with only the root, not with another root", async () => {
    const other = join(temp(), "other");
    assert.equal((await cli(["certs", "bootstrap", "--out", other, "--clusters", "x", "--key-size", "2048"])).code, 0);
    const leaf = await leafFrom(join(dir, "east"), "reviews.shop.svc");
    const server = createServer({ cert: leaf.certPem + readFileSync(join(dir, "east", "cert-chain.pem"), "utf8"), key: leaf.keyPem }, (socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      await handshake(port, readFileSync(join(dir, "root-cert.pem"), "utf8"), "reviews.shop.svc");
      await assert.rejects(
        handshake(port, readFileSync(join(other, "root-cert.pem"), "utf8"), "reviews.shop.svc"),
        /unable to get|self-signed|unable to verify/,
      );
    } finally {
      server.close();
    }
    const leafFile = join(temp(), "leaf.pem");
    writeFileSync(leafFile, leaf.certPem);
    assert.match(openssl("verify", "-CAfile", join(dir, "root-cert.pem"), "-untrusted", join(dir, "east", "ca-cert.pem"), leafFile).stdout, /: OK/);
  });

  it("stops an intermediate from creating sub-CAs (pathlen:0), as openssl confirms", async () => {
    const sub = await generateRsaKeyPair(2048);
    const east = join(dir, "east");
    const subCa = createCertificate({
      subject: { commonName: "rogue sub-CA" },
      publicKeyPem: sub.publicKeyPem,
      signer: { privateKeyPem: readFileSync(join(east, "ca-key.pem"), "utf8"), certificatePem: readFileSync(join(east, "ca-cert.pem"), "utf8") },
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      isCa: true,
    });
    const leafKeys = await generateRsaKeyPair(2048);
    const leaf = createCertificate({
      subject: { commonName: "x" },
      publicKeyPem: leafKeys.publicKeyPem,
      signer: { privateKeyPem: sub.privateKeyPem, certificatePem: subCa },
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      isCa: false,
    });
    const work = temp();
    writeFileSync(join(work, "chain.pem"), readFileSync(join(east, "ca-cert.pem"), "utf8") + subCa);
    writeFileSync(join(work, "leaf.pem"), leaf);
    const result = openssl("verify", "-CAfile", join(dir, "root-cert.pem"), "-untrusted", join(work, "chain.pem"), join(work, "leaf.pem"));
    assert.notEqual(result.status, 0);
    assert.match(result.stdout + result.stderr, /path length constraint exceeded/);
  });

  it("never lets an intermediate outlive its root, even with equal day counts", async () => {
    const out = join(temp(), "same-days");
    assert.equal(
      (await cli(["certs", "bootstrap", "--out", out, "--clusters", "a", "--root-days", "30", "--intermediate-days", "30", "--key-size", "2048"])).code,
      0,
    );
    const root = new X509Certificate(readFileSync(join(out, "root-cert.pem")));
    const intermediate = new X509Certificate(readFileSync(join(out, "a", "ca-cert.pem")));
    assert.ok(new Date(intermediate.validTo) <= new Date(root.validTo), `${intermediate.validTo} <= ${root.validTo}`);
    assert.ok(new Date(intermediate.validFrom) >= new Date(root.validFrom));
  });

  it("uses 4096-bit keys and a 10-year root by default", async () => {
    const out = join(temp(), "defaults");
    assert.equal((await cli(["certs", "bootstrap", "--out", out, "--clusters", "c1"])).code, 0);
    assert.match(text(join(out, "root-cert.pem")), /Public-Key: \(4096 bit\)/);
    assert.match(text(join(out, "c1", "ca-cert.pem")), /Public-Key: \(4096 bit\)/);
    const root = new X509Certificate(readFileSync(join(out, "root-cert.pem")));
    const years = (new Date(root.validTo).getTime() - Date.now()) / (365.25 * 86_400_000);
    assert.ok(years > 9.9 && years < 10.1, String(years));
  });

  it("refuses a second bootstrap into the same directory, leaving every byte as it was", async () => {
    const before = snapshot(dir);
    const again = await cli(["certs", "bootstrap", "--out", dir, "--clusters", "east", "--key-size", "2048"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /root-cert\.pem.*bootstrap would replace the mesh root.*add-cluster.*--force.*Nothing was written/s);
    assert.deepEqual(snapshot(dir), before);
  });

  it("replaces everything with --force, clusters of the old root included", async () => {
    const out = join(temp(), "forced");
    await cli(["certs", "bootstrap", "--out", out, "--clusters", "a,b", "--key-size", "2048"]);
    const first = readFileSync(join(out, "root-cert.pem"), "utf8");
    assert.equal((await cli(["certs", "bootstrap", "--out", out, "--clusters", "a", "--key-size", "2048", "--force"])).code, 0);
    assert.notEqual(readFileSync(join(out, "root-cert.pem"), "utf8"), first);
    assert.deepEqual(listed(out), ["a", "root-cert.pem", "root-key.pem"], "b, signed by the old root, is gone");
    assert.equal((await cli(["certs", "verify", "--dir", out])).code, 0);
  });

  const refusals: [string, string[], RegExp][] = [
    ["a cluster name that is not a DNS-1123 label", ["--clusters", "East_1"], /must be a DNS-1123 label/],
    ["a cluster listed twice", ["--clusters", "a,a"], /listed twice/],
    ["zero days", ["--clusters", "a", "--root-days", "0"], /--root-days must be a positive whole number/],
    ["an intermediate longer than the root", ["--clusters", "a", "--root-days", "10", "--intermediate-days", "11"], /must not exceed --root-days/],
    ["an unsupported key size", ["--clusters", "a", "--key-size", "1024"], /2048, 3072 or 4096/],
    ["no clusters", [], /--clusters .* is required/],
    ["--apply with several clusters", ["--clusters", "a,b", "--apply"], /one cluster/],
  ];
  for (const [name, args, message] of refusals) {
    it(`exits 2 on ${name}, writing nothing`, async () => {
      const out = join(temp(), "never");
      const result = await cli(["certs", "bootstrap", "--out", out, ...args]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, message);
      assert.equal(existsSync(out), false);
    });
  }
});

describe("certs add-cluster", () => {
  it("issues a new intermediate under the existing root, which openssl accepts", async () => {
    const dir = join(temp(), "mesh");
    await cli(["certs", "bootstrap", "--out", dir, "--clusters", "east", "--org", "Acme", "--key-size", "2048"]);
    const rootBefore = readFileSync(join(dir, "root-cert.pem"), "utf8");
    const result = await cli(["certs", "add-cluster", "--out", dir, "--cluster", "west", "--key-size", "2048"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readFileSync(join(dir, "root-cert.pem"), "utf8"), rootBefore);
    assert.match(openssl("verify", "-CAfile", join(dir, "root-cert.pem"), join(dir, "west", "ca-cert.pem")).stdout, /: OK/);
    assert.match(text(join(dir, "west", "ca-cert.pem")), /O ?= ?Acme, L ?= ?west/);
    assert.equal(readFileSync(join(dir, "west", "root-cert.pem"), "utf8"), rootBefore);
  });

  it("refuses when the root is missing, writing nothing", async () => {
    const dir = temp();
    const result = await cli(["certs", "add-cluster", "--out", dir, "--cluster", "west"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no root CA .* run `mesh-tailor certs bootstrap` first/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it("refuses an existing cluster, and an intermediate that would outlive the root, writing nothing", async () => {
    const dir = join(temp(), "mesh");
    await cli(["certs", "bootstrap", "--out", dir, "--clusters", "east", "--root-days", "100", "--intermediate-days", "50", "--key-size", "2048"]);
    const before = snapshot(dir);
    const existing = await cli(["certs", "add-cluster", "--out", dir, "--cluster", "east", "--key-size", "2048"]);
    assert.equal(existing.code, 1);
    assert.match(existing.stderr, /cluster "east" already exists/);
    const tooLong = await cli(["certs", "add-cluster", "--out", dir, "--cluster", "west", "--intermediate-days", "200", "--key-size", "2048"]);
    assert.equal(tooLong.code, 1);
    assert.match(tooLong.stderr, /expires on .* in 99 days: pass --intermediate-days 99 or less/);
    assert.deepEqual(snapshot(dir), before);
  });
});

describe("certs webhook", () => {
  it("issues a serverAuth certificate for the Service's names and IPs, and prints the caBundle", async () => {
    const dir = join(temp(), "webhook");
    const result = await cli(["certs", "webhook", "--out", dir, "--service", "mesh-tailor", "--namespace", "mesh-tailor", "--ip", "127.0.0.1", "--ip", "::1"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(listed(dir), ["ca.crt", "tls.crt", "tls.key"]);
    assert.equal(Buffer.from(result.stdout.trim(), "base64").toString(), readFileSync(join(dir, "ca.crt"), "utf8"));
    assert.match(openssl("verify", "-CAfile", join(dir, "ca.crt"), "-purpose", "sslserver", join(dir, "tls.crt")).stdout, /: OK/);
    const output = text(join(dir, "tls.crt"));
    for (const san of [
      "DNS:mesh-tailor,",
      "DNS:mesh-tailor.mesh-tailor,",
      "DNS:mesh-tailor.mesh-tailor.svc,",
      "DNS:mesh-tailor.mesh-tailor.svc.cluster.local",
      "IP Address:127.0.0.1",
      "IP Address:0:0:0:0:0:0:0:1",
    ]) {
      assert.ok(output.includes(san), san);
    }
    assert.match(output, /Extended Key Usage:\s+TLS Web Server Authentication/);
    assert.equal(statSync(join(dir, "tls.key")).mode & 0o777, 0o600);
  });

  it("refuses to overwrite without --force, and validates arguments first", async () => {
    const dir = join(temp(), "webhook");
    await cli(["certs", "webhook", "--out", dir, "--service", "s", "--namespace", "n"]);
    const before = snapshot(dir);
    const again = await cli(["certs", "webhook", "--out", dir, "--service", "s", "--namespace", "n"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /files exist: .*tls\.crt.*--force/);
    assert.deepEqual(snapshot(dir), before);
    assert.equal((await cli(["certs", "webhook", "--out", dir, "--service", "s", "--namespace", "n", "--force"])).code, 0);
    assert.notDeepEqual(snapshot(dir), before);
    const badIp = await cli(["certs", "webhook", "--out", join(temp(), "x"), "--service", "s", "--namespace", "n", "--ip", "300.1.1.1"]);
    assert.equal(badIp.code, 2);
    assert.match(badIp.stderr, /not an IPv4 or IPv6 address/);
  });
});

describe("certs verify", () => {
  it("passes a fresh bootstrap and webhook directory", async () => {
    const dir = join(temp(), "mesh");
    await cli(["certs", "bootstrap", "--out", dir, "--clusters", "a,b", "--key-size", "2048"]);
    const result = await cli(["certs", "verify", "--dir", dir]);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /STATUS\s+TARGET\s+CHECK/);
    assert.match(result.stdout, /\d+ ok, 0 warning\(s\), 0 problem\(s\)/);
  });

  it("fails on a foreign root copy, a swapped key, and a wrong chain", async () => {
    const dir = join(temp(), "mesh");
    const other = join(temp(), "other");
    await cli(["certs", "bootstrap", "--out", dir, "--clusters", "a,b", "--key-size", "2048"]);
    await cli(["certs", "bootstrap", "--out", other, "--clusters", "a", "--key-size", "2048"]);
    writeFileSync(join(dir, "a", "root-cert.pem"), readFileSync(join(other, "root-cert.pem")));
    writeFileSync(join(dir, "b", "ca-key.pem"), readFileSync(join(dir, "a", "ca-key.pem")));
    writeFileSync(join(dir, "b", "cert-chain.pem"), readFileSync(join(dir, "b", "ca-cert.pem")));
    const result = await cli(["certs", "verify", "--dir", dir]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /FAIL\s+a\/root-cert\.pem\s+same as the mesh root/);
    assert.match(result.stdout, /FAIL\s+b\/ca-cert\.pem\s+key matches certificate/);
    assert.match(result.stdout, /FAIL\s+b\/cert-chain\.pem\s+intermediate then root/);
  });

  it("warns, and still exits 0, when something expires within 30 days", async () => {
    const dir = join(temp(), "mesh");
    await cli(["certs", "bootstrap", "--out", dir, "--clusters", "a", "--root-days", "90", "--intermediate-days", "20", "--key-size", "2048"]);
    const result = await cli(["certs", "verify", "--dir", dir]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /WARN\s+a\/ca-cert\.pem\s+expiry\s+expires in 19 days/);
  });

  it("exits 1 on a directory with nothing to check", async () => {
    const result = await cli(["certs", "verify", "--dir", temp()]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /neither root-cert\.pem .* nor tls\.crt/);
  });
});

describe("certs --apply (against a stand-in API server)", () => {
  const api = new FakeKubeApi();
  let previousKubeconfig: string | undefined;
  before(async () => {
    previousKubeconfig = process.env["KUBECONFIG"];
    process.env["KUBECONFIG"] = api.kubeconfig(await api.start());
  });
  after(async () => {
    if (previousKubeconfig === undefined) delete process.env["KUBECONFIG"];
    else process.env["KUBECONFIG"] = previousKubeconfig;
    await api.stop();
  });

  it("creates cacerts, is idempotent, and never replaces a different root without --force", async () => {
    const dir = join(temp(), "mesh");
    assert.equal((await cli(["certs", "bootstrap", "--out", dir, "--clusters", "east", "--key-size", "2048", "--apply", "--context", "fake"])).code, 0);
    const stored = api.secrets.get("istio-system/cacerts")!;
    assert.equal(Buffer.from(stored["data"]!["root-cert.pem"]!, "base64").toString(), readFileSync(join(dir, "root-cert.pem"), "utf8"));

    const other = join(temp(), "other");
    const refused = await cli(["certs", "bootstrap", "--out", other, "--clusters", "east", "--key-size", "2048", "--apply"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--apply refused: .* different root CA.*breaks mTLS/);
    assert.equal(api.secrets.get("istio-system/cacerts"), stored, "left alone");

    const second = await cli(["certs", "add-cluster", "--out", dir, "--cluster", "west", "--key-size", "2048", "--apply"]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /updated Secret istio-system\/cacerts/);
    const forced = await cli(["certs", "bootstrap", "--out", other, "--clusters", "east", "--key-size", "2048", "--apply", "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /REPLACED the root/);
  });

  it("refuses an unknown context, saying which exist", async () => {
    const result = await cli(["certs", "bootstrap", "--out", join(temp(), "m"), "--clusters", "a", "--key-size", "2048", "--apply", "--context", "prod"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no context "prod" in the kubeconfig; contexts: fake/);
  });

  it("creates the webhook Secret, patches every caBundle, and rotates trusting both CAs", async () => {
    api.webhookConfigurations.set("00-mesh-tailor", {
      metadata: { name: "00-mesh-tailor" },
      webhooks: [
        { name: "pods.mesh-tailor.io", clientConfig: {} },
        { name: "other.mesh-tailor.io", clientConfig: {} },
      ],
    });
    const dir = join(temp(), "webhook");
    const first = await cli(["certs", "webhook", "--out", dir, "--service", "mesh-tailor", "--namespace", "mesh-tailor", "--apply"]);
    assert.equal(first.code, 0, first.stderr);
    const ca1 = readFileSync(join(dir, "ca.crt"), "utf8");
    const secret = api.secrets.get("mesh-tailor/mesh-tailor-tls")!;
    assert.equal(secret["type"], "kubernetes.io/tls");
    assert.deepEqual(Object.keys(secret["data"]!).sort(), ["ca.crt", "tls.crt", "tls.key"]);
    const bundles = () => api.webhookConfigurations.get("00-mesh-tailor")!.webhooks!.map((w) => Buffer.from(w.clientConfig.caBundle!, "base64").toString());
    assert.deepEqual(bundles(), [ca1, ca1]);
    assert.ok(api.requests.includes("PATCH /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/00-mesh-tailor application/json-patch+json"));

    const dir2 = join(temp(), "webhook2");
    const refused = await cli(["certs", "webhook", "--out", dir2, "--service", "mesh-tailor", "--namespace", "mesh-tailor", "--apply"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /already holds another certificate; pass --force to rotate it/);
    const rotated = await cli(["certs", "webhook", "--out", dir2, "--service", "mesh-tailor", "--namespace", "mesh-tailor", "--apply", "--force"]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const ca2 = readFileSync(join(dir2, "ca.crt"), "utf8");
    for (const bundle of bundles()) {
      assert.ok(bundle.includes(ca2.trim()) && bundle.includes(ca1.trim()), "trusts the new and the old CA");
    }
  });

  it("runs as install hooks do: --no-ca-bundle before the configuration exists, --if-missing keeps the Secret on every upgrade", async () => {
    const before = await cli([
      "certs",
      "webhook",
      "--out",
      join(temp(), "pre"),
      "--service",
      "hooked",
      "--namespace",
      "hooks",
      "--apply",
      "--no-ca-bundle",
      "--webhook-configuration",
      "not-yet",
    ]);
    assert.equal(before.code, 0, before.stderr);
    const created = api.secrets.get("hooks/mesh-tailor-tls")!;
    assert.ok(!api.webhookConfigurations.has("not-yet"), "no configuration touched");

    api.webhookConfigurations.set("not-yet", { metadata: { name: "not-yet" }, webhooks: [{ name: "pods.mesh-tailor.io", clientConfig: {} }] });
    for (const run of ["post-install", "post-upgrade"]) {
      const out = join(temp(), run);
      const after = await cli([
        "certs",
        "webhook",
        "--out",
        out,
        "--service",
        "hooked",
        "--namespace",
        "hooks",
        "--apply",
        "--if-missing",
        "--webhook-configuration",
        "not-yet",
      ]);
      assert.equal(after.code, 0, after.stderr);
      assert.match(after.stderr, /exists: kept \(--if-missing\); nothing was written to/);
      assert.ok(!existsSync(out), `${run}: no unrelated CA written locally`);
      assert.equal(after.stdout.trim(), created.data!["ca.crt"], `${run}: the caBundle printed is the kept Secret's CA`);
      assert.equal(api.secrets.get("hooks/mesh-tailor-tls"), created, `${run}: the Secret is left as it was`);
      const [webhook] = api.webhookConfigurations.get("not-yet")!.webhooks!;
      assert.equal(webhook!.clientConfig.caBundle, created.data!["ca.crt"], `${run}: the caBundle trusts the kept Secret's CA`);
    }
    const both = await cli(["certs", "webhook", "--out", join(temp(), "x"), "--service", "s", "--namespace", "n", "--apply", "--if-missing", "--force"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /choose one/);
  });

  it("says to install the manifests when the webhook configuration is missing", async () => {
    const result = await cli([
      "certs",
      "webhook",
      "--out",
      join(temp(), "w"),
      "--service",
      "s",
      "--namespace",
      "n",
      "--apply",
      "--webhook-configuration",
      "absent",
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /MutatingWebhookConfiguration absent not found: install manifests\/ first/);
  });
});
