import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import type { IMutatingWebhookConfiguration } from "kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IService } from "kubernetes-models/v1/Service";
import { parseAllDocuments, stringify } from "yaml";
import { infraBinary } from "../e2e/harness/infra.js";
import { cli } from "../fixtures/run-cli.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const CHART = join(ROOT, "charts", "mesh-tailor");
const HELM = infraBinary("helm");
const KUBE_VERSION = "1.34.4";
const scratch = mkdtempSync(join(tmpdir(), "mesh-tailor-chart-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
};

/** cert-manager's Certificate, as far as these tests read it. */
interface Certificate {
  spec: { secretName: string; isCA?: boolean; dnsNames?: string[]; issuerRef: { kind?: string; name: string } };
}

/** The kinds the tests look up, typed as kubernetes-models types them. */
interface Kinds {
  Certificate: Certificate;
  ClusterRole: IClusterRole;
  ConfigMap: IConfigMap;
  Deployment: IDeployment;
  Job: IJob;
  MutatingWebhookConfiguration: IMutatingWebhookConfiguration;
  NetworkPolicy: INetworkPolicy;
  PodDisruptionBudget: IPodDisruptionBudget;
  Service: IService;
}

/** A kubernetes-models module: its model classes by kind, and the default export. */
type Models = Record<string, (new (object: unknown) => { validate(): void }) | undefined>;

function run(command: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const documents = (text: string): K8sObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject)
    .filter((o) => o && o.kind);

function valuesFile(values: unknown): string {
  const path = join(scratch, `values-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, stringify(values));
  return path;
}

function template(values: unknown = {}, namespace = "mesh-tailor"): K8sObject[] {
  const result = run(HELM, ["template", "mesh-tailor", CHART, "--namespace", namespace, "--kube-version", KUBE_VERSION, "-f", valuesFile(values)]);
  assert.equal(result.status, 0, result.stderr);
  return documents(result.stdout);
}

const find = <K extends keyof Kinds>(objects: K8sObject[], kind: K, name: string): K8sObject & Kinds[K] => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind}/${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
  return found as K8sObject & Kinds[K];
};

async function validatesWithTheCli(policyYaml: string): Promise<string> {
  const path = join(scratch, `policy-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, policyYaml);
  const result = await cli(["policy", "validate", path]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

const NON_DEFAULT = {
  image: { repository: "registry.example/platform/mesh-tailor", tag: "0.1.0-rc1" },
  policy: "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices:\n  - namespace: shop\n    name: reviews\n    revision: canary\n",
  webhook: {
    replicas: 5,
    failurePolicy: "Fail",
    timeoutSeconds: 10,
    namespaceSelectorExtraTerms: [{ key: "team", operator: "In", values: ["shop"] }],
    priorityClassName: "platform-critical",
    resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { memory: "512Mi" } },
  },
  controller: { enabled: false },
  certificate: { source: "certManager", certManager: { issuerRef: { kind: "ClusterIssuer", name: "internal-ca" } } },
};

describe("charts/mesh-tailor", () => {
  it("passes helm lint --strict, with the default values and with others", () => {
    for (const values of [{}, NON_DEFAULT]) {
      const result = run(HELM, ["lint", "--strict", CHART, "--kube-version", KUBE_VERSION, "-f", valuesFile(values)]);
      assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    }
  });

  it("renders, by default, the webhook, the controller, the policy and the certificate hooks", async () => {
    const objects = template();
    for (const [kind, name] of [
      ["Deployment", "mesh-tailor"],
      ["Deployment", "mesh-tailor-controller"],
      ["Service", "mesh-tailor"],
      ["PodDisruptionBudget", "mesh-tailor"],
      ["NetworkPolicy", "mesh-tailor"],
      ["MutatingWebhookConfiguration", "00-mesh-tailor"],
      ["ClusterRole", "mesh-tailor-controller"],
      ["Job", "mesh-tailor-certs-pre"],
      ["Job", "mesh-tailor-certs-post"],
    ] as const) {
      find(objects, kind, name);
    }
    const [pre, post] = ["pre", "post"].map((phase) => find(objects, "Job", `mesh-tailor-certs-${phase}`));
    assert.equal(pre!.metadata.annotations!["helm.sh/hook"], "pre-install,pre-upgrade");
    assert.ok(pre!.spec!.template.spec!.containers[0]!.args!.includes("--no-ca-bundle"), "before the install the configuration does not exist");
    assert.equal(post!.metadata.annotations!["helm.sh/hook"], "post-install,post-upgrade");
    for (const job of [pre!, post!]) {
      assert.equal(job.spec!.template.spec!.serviceAccountName, "mesh-tailor-certs");
      assert.ok(job.spec!.template.spec!.containers[0]!.args!.includes("--if-missing"), "an upgrade keeps the Secret");
    }
    assert.match(await validatesWithTheCli(find(objects, "ConfigMap", "mesh-tailor-policy").data!["policy.yaml"]!), /valid \(0 service entries/);
  });

  it("keeps the webhook from its own pods by their namespace, never by a pod's labels", () => {
    for (const namespace of ["mesh-tailor", "platform"]) {
      const objects = template({}, namespace);
      const hook = find(objects, "MutatingWebhookConfiguration", "00-mesh-tailor").webhooks![0]!;
      // A pod's own labels must not keep it from the system-wide rollback: mesh-tailor judges mesh-tailor.io/skip itself.
      assert.equal(hook.objectSelector, undefined);
      const excluded = hook.namespaceSelector!.matchExpressions!.find((e) => e.key === "kubernetes.io/metadata.name")!.values!;
      const withPods = objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"].includes(o.kind));
      assert.ok(withPods.length >= 4, "the webhook, the controller and the certificate jobs");
      for (const object of withPods)
        assert.ok(excluded.includes(object.metadata.namespace ?? namespace), `${object.kind}/${object.metadata.name} in ${object.metadata.namespace}`);
    }
  });

  it("takes the settings an operator changes from values", async () => {
    const objects = template(NON_DEFAULT);
    const webhook = find(objects, "MutatingWebhookConfiguration", "00-mesh-tailor");
    const hook = webhook.webhooks![0]!;
    assert.equal(hook.failurePolicy, "Fail");
    assert.equal(hook.timeoutSeconds, 10);
    assert.deepEqual(hook.namespaceSelector!.matchExpressions!.at(-1), { key: "team", operator: "In", values: ["shop"] });
    assert.equal(webhook.metadata.annotations!["cert-manager.io/inject-ca-from"], "mesh-tailor/mesh-tailor");
    const deployment = find(objects, "Deployment", "mesh-tailor");
    assert.equal(deployment.spec!.replicas, 5);
    assert.equal(deployment.spec!.template.spec!.priorityClassName, "platform-critical");
    assert.equal(deployment.spec!.template.spec!.containers[0]!.image, "registry.example/platform/mesh-tailor:0.1.0-rc1");
    assert.deepEqual(deployment.spec!.template.spec!.containers[0]!.resources, NON_DEFAULT.webhook.resources);
    const certificate = find(objects, "Certificate", "mesh-tailor");
    assert.equal(certificate.spec.secretName, "mesh-tailor-tls");
    assert.deepEqual(certificate.spec.issuerRef, { kind: "ClusterIssuer", name: "internal-ca" });
    assert.ok(certificate.spec.dnsNames!.includes("mesh-tailor.mesh-tailor.svc"));
    assert.ok(!objects.some((o) => o.kind === "Job" || o.kind === "Issuer"), "no certificate job, no self-signed issuer");
    assert.ok(!objects.some((o) => o.metadata.name.startsWith("mesh-tailor-controller")), "controller disabled");
    assert.match(await validatesWithTheCli(find(objects, "ConfigMap", "mesh-tailor-policy").data!["policy.yaml"]!), /valid \(1 service entries/);
  });

  it("makes its own CA with cert-manager when no issuer is given", () => {
    const objects = template({ certificate: { source: "certManager" } });
    assert.equal(find(objects, "Certificate", "mesh-tailor-ca").spec.isCA, true);
    assert.deepEqual(find(objects, "Certificate", "mesh-tailor").spec.issuerRef, { kind: "Issuer", name: "mesh-tailor-ca" });
  });

  it("refuses values kube-apiserver would refuse, saying which", () => {
    for (const [values, message] of [
      [{ webhook: { timeoutSeconds: 45 } }, /\/webhook\/timeoutSeconds': maximum: got 45, want 30/],
      [{ certificate: { source: "vault" } }, /\/certificate\/source': value must be one of 'job', 'certManager'/],
      [{ webhook: { failurePolicy: "Sometimes" } }, /\/webhook\/failurePolicy': value must be one of 'Ignore', 'Fail'/],
      [{ webhook: { namespaceSelectorExtraTerms: [{ key: "team", operator: "Equals" }] } }, /\/webhook\/namespaceSelectorExtraTerms\/0\/operator'/],
      // A policy must reach the cluster at least as YAML and as a TailorPolicy.
      [
        { policy: "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices: [\n" },
        /values\.policy is not valid YAML .*mesh-tailor policy validate FILE/,
      ],
      [{ policy: "apiVersion: v1\nkind: ConfigMap\n" }, /values\.policy is not a TailorPolicy/],
    ] as const) {
      const result = run(HELM, ["template", "mesh-tailor", CHART, "--kube-version", KUBE_VERSION, "-f", valuesFile(values)]);
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, message);
    }
  });

  it("passes the Kubernetes API schemas, object by object", async () => {
    for (const object of [...template(), ...template(NON_DEFAULT)]) {
      if (
        !/^(v1|apps\/v1|batch\/v1|policy\/v1|networking\.k8s\.io\/v1|rbac\.authorization\.k8s\.io\/v1|admissionregistration\.k8s\.io\/v1)$/.test(
          object.apiVersion,
        )
      )
        continue;
      const module = (await import(`kubernetes-models/${object.apiVersion}/${object.kind}`)) as Models;
      const Model = module[object.kind] ?? module["default"];
      assert.doesNotThrow(() => new Model!(object).validate(), `${object.kind}/${object.metadata.name}`);
    }
  });
});

// Helm's own bookkeeping, which kustomize has no counterpart for.
const HELM_LABELS = ["app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"];
function withoutHelmBookkeeping(object: K8sObject): K8sObject {
  const copy = structuredClone(object);
  for (const label of HELM_LABELS) delete copy.metadata.labels?.[label];
  for (const key of Object.keys(copy.metadata.annotations ?? {})) if (key.startsWith("helm.sh/")) delete copy.metadata.annotations![key];
  if (copy.metadata.annotations && Object.keys(copy.metadata.annotations).length === 0) delete copy.metadata.annotations;
  return copy;
}

describe("the chart and manifests/", () => {
  it("render the same objects for the same settings (the chart runs its certificate job as two hooks)", () => {
    const kustomized = [MANIFESTS_DIR, join(MANIFESTS_DIR, "monitoring"), join(MANIFESTS_DIR, "certs-job")].flatMap((dir) => {
      const result = run("kubectl", ["kustomize", dir]);
      assert.equal(result.status, 0, result.stderr);
      return documents(result.stdout);
    });
    const charted = template({
      namespace: { create: true },
      monitoring: { podMonitor: { enabled: true }, prometheusRule: { enabled: true }, dashboard: { enabled: true } },
    }).map(withoutHelmBookkeeping);
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    const onlyInChart = charted
      .filter((o) => !kustomized.some((k) => key(k) === key(o)))
      .map(key)
      .sort();
    assert.deepEqual(onlyInChart, ["Job/mesh-tailor/mesh-tailor-certs-post", "Job/mesh-tailor/mesh-tailor-certs-pre"]);
    const onlyInManifests = kustomized.filter((k) => !charted.some((o) => key(o) === key(k))).map(key);
    assert.deepEqual(onlyInManifests, ["Job/mesh-tailor/mesh-tailor-certs"]);
    for (const object of kustomized.filter((k) => k.kind !== "Job"))
      assert.deepEqual(
        charted.find((o) => key(o) === key(object)),
        object,
        key(object),
      );
  });
});

const MANIFESTS_DIR = join(ROOT, "manifests");
