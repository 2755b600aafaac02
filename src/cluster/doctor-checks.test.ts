import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { before, describe, it } from "node:test";
import { issueServingBundle, type ServingBundle } from "../certs/serving.js";
import { builtInPolicy, loadPolicy } from "../policy/load.js";
import { checkDeployments, checkKubernetesVersion, checkMeshCa, checkServingCertificate, checkUntailoredNamespaces, checkWebhookOrder, runChecks, type ClusterFacts } from "./doctor-checks.js";
import { ISTIO_SIDECAR_INJECTOR } from "../../test/fixtures/istio-webhooks.js";
import type { MutatingWebhookConfiguration } from "./webhook-configurations.js";

const b64 = (text: string) => Buffer.from(text).toString("base64");
const DAY = 86_400_000;

function meshTailorConfiguration(caPem: string, extra: Record<string, unknown> = {}): MutatingWebhookConfiguration {
  return {
    metadata: { name: "00-mesh-tailor" },
    webhooks: [{ name: "pods.mesh-tailor.io", reinvocationPolicy: "IfNeeded", clientConfig: { caBundle: b64(caPem), service: { name: "mesh-tailor", namespace: "mesh-tailor" } }, ...extra }],
  };
}

const ISTIO = ISTIO_SIDECAR_INJECTOR;

const deployment = (name: string, available: number, replicas = 2) => ({ metadata: { name, namespace: "mesh-tailor" }, spec: { replicas }, status: { availableReplicas: available } });

let serving: ServingBundle;
let other: ServingBundle;
let meshRoot: ServingBundle;

function healthy(): ClusterFacts {
  return {
    now: new Date(),
    serverVersion: "v1.34.4",
    policy: builtInPolicy(),
    configurations: [meshTailorConfiguration(serving.caPem), ISTIO],
    installNamespace: "mesh-tailor",
    webhookDeployment: deployment("mesh-tailor", 3, 3),
    controllerDeployment: deployment("mesh-tailor-controller", 2),
    tlsSecretName: "mesh-tailor-tls",
    tlsSecret: { metadata: { name: "mesh-tailor-tls" }, data: { "tls.crt": b64(serving.certPem), "ca.crt": b64(serving.caPem) } },
    meshCa: { metadata: { name: "cacerts" }, data: { "ca-cert.pem": b64(meshRoot.certPem), "root-cert.pem": b64(meshRoot.caPem) } },
    istiods: [{ metadata: { name: "istiod", labels: { app: "istiod" } }, spec: { template: { spec: { containers: [{ image: "docker.io/istio/pilot:1.28.1" }] } } } }],
    namespaces: [{ metadata: { name: "shop", labels: { "mesh-tailor.io/enabled": "true", "istio-injection": "enabled" } } }, { metadata: { name: "plain" } }],
  };
}

describe("doctor's checks", () => {
  before(async () => {
    [serving, other, meshRoot] = await Promise.all([
      issueServingBundle({ hosts: ["mesh-tailor", "mesh-tailor.mesh-tailor.svc"], days: 365 }),
      issueServingBundle({ hosts: ["mesh-tailor.mesh-tailor.svc"], days: 365 }),
      issueServingBundle({ hosts: ["istiod.istio-system.svc"], days: 365 }),
    ]);
  });

  it("find nothing wrong with a healthy installation", () => {
    const results = runChecks(healthy());
    assert.deepEqual(results.filter((r) => r.status !== "ok"), []);
    assert.match(results.find((r) => r.check === "istio")!.detail, /default \(1\.28\.1\)/);
    const tagged = runChecks({ ...healthy(), configurations: [...healthy().configurations, { metadata: { name: "istio-revision-tag-stable", labels: { "istio.io/tag": "stable", "istio.io/rev": "default" } }, webhooks: [] }] });
    assert.match(tagged.find((r) => r.check === "istio")!.detail, /revision tags: stable -> default/);
  });

  it("report an Istio configuration that sorts before mesh-tailor's, and a webhook not reinvoked", () => {
    const early = { ...ISTIO, metadata: { name: "0-istio-revision-tag-early" } };
    const order = checkWebhookOrder({ ...healthy(), configurations: [meshTailorConfiguration(serving.caPem), early] });
    assert.equal(order.status, "error");
    assert.match(order.detail, /0-istio-revision-tag-early sorts before 00-mesh-tailor/);
    const once = checkWebhookOrder({ ...healthy(), configurations: [meshTailorConfiguration(serving.caPem, { reinvocationPolicy: "Never" }), ISTIO] });
    assert.equal(once.status, "warning");
    assert.equal(checkWebhookOrder({ ...healthy(), configurations: [ISTIO] }).status, "error");
  });

  it("report a caBundle that does not verify the served certificate, naming cert-manager when it injects", () => {
    const [bundle] = checkServingCertificate({ ...healthy(), configurations: [meshTailorConfiguration(other.caPem)] });
    assert.equal(bundle!.status, "error");
    assert.match(bundle!.fix!, /certs webhook .* --apply --force/);
    const managed = meshTailorConfiguration(other.caPem);
    const [injected] = checkServingCertificate({ ...healthy(), configurations: [{ ...managed, metadata: { ...managed.metadata, annotations: { "cert-manager.io/inject-ca-from": "mesh-tailor/mesh-tailor" } } }] });
    assert.match(injected!.fix!, /cert-manager's CA injector/);
    const [missing] = checkServingCertificate({ ...healthy(), tlsSecret: undefined });
    assert.match(missing!.detail, /does not exist/);
    const [denied] = checkServingCertificate({ ...healthy(), tlsSecret: "forbidden" });
    assert.equal(denied!.status, "warning");
    assert.match(denied!.detail, /cannot read Secret mesh-tailor\/mesh-tailor-tls: forbidden/);
  });

  it("warn 30 days before the serving certificate expires, and fail once it has or when it names another host", () => {
    const validTo = Date.parse(new X509Certificate(serving.certPem).validTo);
    const soon = checkServingCertificate({ ...healthy(), now: new Date(validTo - 10 * DAY) })[1]!;
    assert.equal(soon.status, "warning");
    assert.match(soon.detail, /9 days left|10 days left/);
    assert.equal(checkServingCertificate({ ...healthy(), now: new Date(validTo + DAY) })[1]!.status, "error");
    const elsewhere = checkServingCertificate({ ...healthy(), installNamespace: "x", configurations: [{ ...meshTailorConfiguration(serving.caPem), webhooks: [{ name: "pods.mesh-tailor.io", reinvocationPolicy: "IfNeeded", clientConfig: { caBundle: b64(serving.caPem), service: { name: "mesh-tailor", namespace: "platform" } } }] }] })[1]!;
    assert.equal(elsewhere.status, "error");
    assert.match(elsewhere.detail, /not valid for mesh-tailor\.platform\.svc/);
  });

  it("warn when the mesh has no plug-in CA, and when it expires", () => {
    assert.equal(checkMeshCa({ ...healthy(), meshCa: undefined })[0]!.status, "warning");
    assert.match(checkMeshCa({ ...healthy(), meshCa: "forbidden" })[0]!.detail, /forbidden/);
    const validTo = Date.parse(new X509Certificate(meshRoot.certPem).validTo);
    assert.ok(checkMeshCa({ ...healthy(), now: new Date(validTo + DAY) }).some((r) => r.status === "error"));
  });

  it("fail on an unavailable webhook; warn on a missing controller only when the policy needs it", () => {
    const [webhook] = checkDeployments({ ...healthy(), webhookDeployment: deployment("mesh-tailor", 0, 3) });
    assert.equal(webhook!.status, "error");
    assert.equal(checkDeployments({ ...healthy(), controllerDeployment: undefined })[1]!.status, "warning");
    const quiet = loadPolicy("apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nnamespaces: {defaultSidecar: {enabled: false}}\nsandbox: {autoEnable: false}\n");
    assert.equal(checkDeployments({ ...healthy(), policy: quiet, controllerDeployment: undefined })[1]!.status, "ok");
  });

  it("check the Kubernetes version against what the policy asks for", () => {
    const native = loadPolicy("apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\njobs: {nativeSidecar: true}\n");
    assert.equal(checkKubernetesVersion({ ...healthy(), serverVersion: "v1.30.0" }).status, "ok");
    const old = checkKubernetesVersion({ ...healthy(), serverVersion: "v1.29.9-eks.3" });
    assert.equal(old.status, "error");
    assert.match(old.detail, /sleep lifecycle action/);
    assert.match(old.fix!, /proxyPreStopAction: exec/);
    assert.equal(checkKubernetesVersion({ ...healthy(), policy: native, serverVersion: "v1.28.4" }).status, "error");
    assert.equal(checkKubernetesVersion({ ...healthy(), serverVersion: "v0.0.0-master+$Format:%H$" }).status, "warning");
  });

  it("list namespaces Istio injects that mesh-tailor does not tailor, with the command that fixes it", () => {
    const result = checkUntailoredNamespaces({ ...healthy(), namespaces: [...healthy().namespaces, { metadata: { name: "payments", labels: { "istio-injection": "enabled" } } }] });
    assert.equal(result.status, "warning");
    assert.match(result.detail, /payments/);
    assert.equal(result.fix, "mesh-tailor namespaces enable payments");
  });
});
