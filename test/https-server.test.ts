import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { connect, createServer as createTlsServer, type PeerCertificate } from "node:tls";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { issueServingBundle, type ServingBundle } from "../src/certs/serving.js";
import { createLogger } from "../src/logging/logger.js";
import { WebhookServer } from "../src/server/webhook-server.js";
import { appPod } from "./fixtures/pods.js";
import { decodePatch, podCreateReview, type AnsweredReview } from "./fixtures/reviews.js";
import { SecretVolume } from "./fixtures/secret-volume.js";

const quietLogger = () => createLogger({ level: "silent", destination: new Writable({ write: (_c, _e, done) => done() }) });
const POLICY_HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n";
const MIGRATE_REVIEWS = `${POLICY_HEADER}services:\n  - name: reviews\n`;

function post(port: number, ca: string, body: unknown): Promise<{ status: number; json: AnsweredReview }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path: "/mutate",
        method: "POST",
        ca,
        servername: "localhost",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
        agent: false,
      },
      (res) => {
        let data = "";
        res.on("data", (chunk) => (data += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(data) as AnsweredReview }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** Handshakes and returns the certificate the server presented. */
function presented(port: number, ca: string, options: { maxVersion?: "TLSv1.1" | "TLSv1.2" } = {}): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    // SECLEVEL=0 lets OpenSSL 3 offer TLS 1.1 at all, so a refusal is the server's, not ours.
    const legacy = options.maxVersion ? { maxVersion: options.maxVersion, minVersion: "TLSv1" as const, ciphers: "DEFAULT@SECLEVEL=0" } : {};
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost", ...legacy }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on("error", reject);
  });
}

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const serialOf = (pem: string): string => new X509Certificate(pem).serialNumber;
const reloadCount = async (server: WebhookServer, kind: string, result: string): Promise<number> =>
  Number((await server.metrics.reloads.get()).values.find((v) => v.labels["kind"] === kind && v.labels["result"] === result)?.value ?? 0);

const certificateExpiry = async (server: WebhookServer): Promise<number> => (await server.metrics.certificateExpiry.get()).values[0]!.value;
const expiryOf = (pem: string): number => Date.parse(new X509Certificate(pem).validTo) / 1000;

describe("the HTTPS server", () => {
  let first: ServingBundle;
  let second: ServingBundle;
  let foreign: ServingBundle;
  let tls: SecretVolume;
  let config: SecretVolume;
  let server: WebhookServer;

  before(async () => {
    [first, second, foreign] = await Promise.all([
      issueServingBundle({ hosts: ["localhost", "127.0.0.1"], days: 1 }),
      issueServingBundle({ hosts: ["localhost", "127.0.0.1"], days: 2 }),
      issueServingBundle({ hosts: ["localhost", "127.0.0.1"], days: 1 }),
    ]);
    tls = new SecretVolume({ "tls.crt": first.certPem, "tls.key": first.keyPem });
    config = new SecretVolume({ "policy.yaml": MIGRATE_REVIEWS });
    server = await WebhookServer.start({
      port: 0,
      host: "127.0.0.1",
      tls: { kind: "files", certFile: tls.path("tls.crt"), keyFile: tls.path("tls.key") },
      policyFile: config.path("policy.yaml"),
      logger: quietLogger(),
      pollMs: 200,
    });
  });

  after(async () => {
    await server.shutdown();
    tls.remove();
    config.remove();
  });

  it("serves a client that trusts only its CA, and mutates over real TLS", async () => {
    const { status, json } = await post(server.port, first.caPem, podCreateReview(appPod()));
    assert.equal(status, 200);
    assert.ok(decodePatch(json.response.patch).some((op) => op.value === "true"));
  });

  it("is refused by a client that trusts another CA", async () => {
    await assert.rejects(presented(server.port, foreign.caPem), /self-signed certificate in certificate chain|unable to verify|unable to get local issuer/);
  });

  it("refuses TLS 1.1 with a protocol_version alert, to a client that can speak it", async () => {
    const control = createTlsServer({ cert: first.certPem, key: first.keyPem, minVersion: "TLSv1", ciphers: "DEFAULT@SECLEVEL=0" }, (socket) => socket.end());
    await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
    try {
      await presented((control.address() as AddressInfo).port, first.caPem, { maxVersion: "TLSv1.1" });
    } finally {
      control.close();
    }
    await assert.rejects(presented(server.port, first.caPem, { maxVersion: "TLSv1.1" }), { code: "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION" });
  });

  it("hot reloads a swapped certificate for new connections, without a restart, and exports its expiry", async () => {
    assert.equal((await presented(server.port, first.caPem)).serialNumber, serialOf(first.certPem));
    assert.equal(await certificateExpiry(server), expiryOf(first.certPem));
    tls.update({ "tls.crt": second.certPem, "tls.key": second.keyPem });
    await eventually(async () => {
      try {
        return (await presented(server.port, second.caPem)).serialNumber === serialOf(second.certPem);
      } catch {
        return false;
      }
    }, "the new certificate");
    assert.equal(await reloadCount(server, "certificate", "success"), 1);
    assert.equal(await certificateExpiry(server), expiryOf(second.certPem));
  });

  it("keeps serving the old certificate when the new pair is broken, and counts the failure", async () => {
    const failuresBefore = await reloadCount(server, "certificate", "failure");
    tls.update({ "tls.crt": first.certPem, "tls.key": second.keyPem }); // key of another certificate
    await eventually(async () => (await reloadCount(server, "certificate", "failure")) > failuresBefore, "the refusal");
    assert.equal((await presented(server.port, second.caPem)).serialNumber, serialOf(second.certPem));
    const { status } = await post(server.port, second.caPem, podCreateReview(appPod()));
    assert.equal(status, 200);
  });

  it("hot reloads a valid policy within seconds (the rollback switch)", async () => {
    config.update({ "policy.yaml": `${POLICY_HEADER}mesh:\n  enabled: false\nservices:\n  - name: reviews\n` });
    await eventually(() => server.currentPolicy.policy.mesh.enabled === false, "the new policy");
    const { json } = await post(server.port, second.caPem, podCreateReview(appPod()));
    assert.ok(decodePatch(json.response.patch).some((op) => op.path === "/metadata/labels/sidecar.istio.io~1inject" && op.value === "false"));
  });

  it("refuses an invalid policy, keeps the last good one, stays ready, and counts it", async () => {
    const good = server.currentPolicy.revision;
    const failuresBefore = await reloadCount(server, "policy", "failure");
    config.update({ "policy.yaml": `${POLICY_HEADER}mesh:\n  enabled: maybe\n` });
    await eventually(async () => (await reloadCount(server, "policy", "failure")) > failuresBefore, "the refusal");
    assert.equal(server.currentPolicy.revision, good);
    const ready = await new Promise<number>((resolve, reject) => {
      httpsRequest({ host: "127.0.0.1", port: server.port, path: "/readyz", ca: second.caPem, servername: "localhost", agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on("error", reject)
        .end();
    });
    assert.equal(ready, 200);
  });
});

describe("starting the server", () => {
  it("refuses to start with a key that does not match the certificate, saying so", async () => {
    const [a, b] = await Promise.all([issueServingBundle({ hosts: ["localhost"], days: 1 }), issueServingBundle({ hosts: ["localhost"], days: 1 })]);
    await assert.rejects(
      WebhookServer.start({
        port: 0,
        host: "127.0.0.1",
        tls: { kind: "inline", pair: { certPem: a.certPem, keyPem: b.keyPem } },
        policyFile: undefined,
        logger: quietLogger(),
      }),
      /the key does not belong to the certificate/,
    );
  });

  for (const [what, policy, problem] of [
    ["an invalid policy file, naming the field", `${POLICY_HEADER}defaults:\n  inject: sometimes\n`, /defaults\.inject:/],
    [
      "a namespace pattern that backtracks, saying so",
      `${POLICY_HEADER}sandbox:\n  namespacePattern: "^(?<base>([a-z0-9]+-?)+)--(?<branch>box-[a-z0-9]+)$"\n`,
      /sandbox\.namespacePattern: backtracks in exponential time/,
    ],
  ] as const) {
    it(`refuses to start with ${what}`, async () => {
      const bundle = await issueServingBundle({ hosts: ["localhost"], days: 1 });
      const volume = new SecretVolume({ "policy.yaml": policy });
      try {
        await assert.rejects(
          WebhookServer.start({
            port: 0,
            host: "127.0.0.1",
            tls: { kind: "inline", pair: { certPem: bundle.certPem, keyPem: bundle.keyPem } },
            policyFile: volume.path("policy.yaml"),
            logger: quietLogger(),
          }),
          problem,
        );
      } finally {
        volume.remove();
      }
    });
  }
});
