import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import type { IMutatingWebhookConfiguration } from "kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration";
import type { IValidatingAdmissionPolicy } from "kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy";
import type { IValidatingAdmissionPolicyBinding } from "kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import type { IPolicyRule } from "kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule";
import type { IRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { INamespace } from "kubernetes-models/v1/Namespace";
import { parseAllDocuments } from "yaml";
import { loadPolicy } from "../src/policy/load.js";
import { grantedRules, RBAC_TABLES } from "../scripts/rbac-tables.js";

const MANIFESTS = fileURLToPath(new URL("../../manifests", import.meta.url));

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [key: string]: unknown };

/** The kinds the tests read field by field, as kubernetes-models types them. */
interface Kinds {
  ClusterRole: IClusterRole;
  ConfigMap: IConfigMap;
  Deployment: IDeployment;
  Job: IJob;
  MutatingWebhookConfiguration: IMutatingWebhookConfiguration;
  Namespace: INamespace;
  NetworkPolicy: INetworkPolicy;
  PodDisruptionBudget: IPodDisruptionBudget;
  Role: IRole;
  ValidatingAdmissionPolicy: IValidatingAdmissionPolicy;
  ValidatingAdmissionPolicyBinding: IValidatingAdmissionPolicyBinding;
}

/** A kubernetes-models module: its model classes by kind, and the default export. */
type Models = Record<string, (new (object: unknown) => { validate(): void }) | undefined>;

function render(dir = MANIFESTS): K8sObject[] {
  const result = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
  if (result.error) throw new Error(`kubectl is needed to render the manifests: ${result.error.message}`);
  assert.equal(result.status, 0, result.stderr);
  return parseAllDocuments(result.stdout).map((d) => d.toJS() as K8sObject);
}

const objects = render();
/** manifests/certs-job: the certificate Job and its RBAC, applied once and deleted. */
const certsJob = render(`${MANIFESTS}/certs-job`);
const find = <K extends keyof Kinds>(kind: K, name?: string, among = objects): K8sObject & Kinds[K] => {
  const found = among.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.ok(found, `${kind} ${name ?? ""} is rendered`);
  return found as K8sObject & Kinds[K];
};

type Granted = { namespace: string | undefined; rule: IPolicyRule };
/** GRANTED in one order, whatever order kustomize or a file has them in. */
const sorted = (granted: Granted[]): Granted[] => [...granted].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** What ACCOUNT (a ServiceAccount in mesh-tailor) is granted by AMONG's bindings: where (a namespace, or the cluster) and each rule, sorted. */
function rulesOf(account: string, among: K8sObject[]): Granted[] {
  const granted = among
    .filter((o) => o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding")
    .filter((o) => (o["subjects"] as { kind: string; name: string; namespace: string }[]).some((s) => s.name === account && s.namespace === "mesh-tailor"))
    .flatMap((binding) => {
      const ref = binding["roleRef"] as { kind: "Role" | "ClusterRole"; name: string };
      const namespace = binding.kind === "RoleBinding" ? binding.metadata.namespace : undefined;
      const role = among.find((o) => o.kind === ref.kind && o.metadata.name === ref.name && o.metadata.namespace === namespace);
      assert.ok(role, `${binding.kind}/${binding.metadata.name} refers to a rendered ${ref.kind}`);
      return (role["rules"] as IPolicyRule[]).map((rule) => ({ namespace, rule }));
    });
  return sorted(granted);
}

describe("manifests/ (kustomize)", () => {
  it("renders every object the install needs", () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    for (const expected of [
      "Namespace/mesh-tailor",
      "ServiceAccount/mesh-tailor",
      "ConfigMap/mesh-tailor-policy",
      "Deployment/mesh-tailor",
      "PodDisruptionBudget/mesh-tailor",
      "Service/mesh-tailor",
      "MutatingWebhookConfiguration/00-mesh-tailor",
      "NetworkPolicy/mesh-tailor",
    ]) {
      assert.ok(kinds.includes(expected), `${expected} in ${kinds.join(", ")}`);
    }
  });

  it("passes the Kubernetes API schemas, object by object", async () => {
    for (const object of [...objects, ...certsJob]) {
      const module = (await import(`kubernetes-models/${object.apiVersion}/${object.kind}`)) as Models;
      const Model = module[object.kind] ?? module["default"];
      assert.doesNotThrow(() => new Model!(object).validate(), `${object.kind}/${object.metadata.name}`);
    }
  });

  it("catches a schema violation (the check is real)", async () => {
    const { Deployment } = await import("kubernetes-models/apps/v1/Deployment");
    const broken = structuredClone(find("Deployment"));
    Object.assign(broken.spec!, { replicas: "three" }); // a string where the schema wants an integer: past what the static type allows
    assert.throws(() => new Deployment(broken).validate(), /replicas must be integer/);
  });

  it("registers a webhook that sorts before Istio's and is safe to run in front of every pod", () => {
    const config = find("MutatingWebhookConfiguration");
    for (const istio of ["istio-sidecar-injector", "istio-revision-tag-default"])
      assert.ok(config.metadata.name < istio, `${config.metadata.name} sorts before ${istio}`);
    const webhook = config.webhooks![0]!;
    assert.deepEqual(webhook.rules, [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "Namespaced" }]);
    assert.deepEqual(webhook.admissionReviewVersions, ["v1"]);
    assert.equal(webhook.sideEffects, "None");
    assert.equal(webhook.failurePolicy, "Ignore");
    assert.equal(webhook.reinvocationPolicy, "IfNeeded");
    assert.ok(webhook.timeoutSeconds! <= 5);
    assert.deepEqual(webhook.namespaceSelector!.matchExpressions, [
      { key: "mesh-tailor.io/enabled", operator: "In", values: ["true"] },
      { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "mesh-tailor"] },
    ]);
    // A pod's own labels never keep it from mesh-tailor (and so from the rollback): it judges mesh-tailor.io/skip itself.
    assert.equal(webhook.objectSelector, undefined);
    // mesh-tailor's own pods (labelled to be skipped too) are kept out by their namespace.
    const excluded = webhook.namespaceSelector!.matchExpressions.find((e) => e.key === "kubernetes.io/metadata.name")!.values;
    const withPods = objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"].includes(o.kind));
    assert.ok(withPods.length >= 2);
    for (const object of withPods)
      assert.ok(excluded.includes(object.metadata.namespace!), `${object.kind}/${object.metadata.name} in ${object.metadata.namespace}`);
    assert.deepEqual(webhook.clientConfig.service, { name: "mesh-tailor", namespace: "mesh-tailor", path: "/mutate", port: 443 });
  });

  it("runs the webhook hardened: 3 spread replicas, probes, limits, non-root, read-only, no capabilities", () => {
    const deployment = find("Deployment");
    const spec = deployment.spec!;
    assert.equal(spec.replicas, 3);
    assert.ok(spec.template.spec!.topologySpreadConstraints!.some((c) => c.topologyKey === "topology.kubernetes.io/zone"));
    const pod = spec.template.spec!;
    const container = pod.containers[0]!;
    assert.equal(pod.securityContext!.runAsNonRoot, true);
    assert.deepEqual(pod.securityContext!.seccompProfile, { type: "RuntimeDefault" });
    assert.equal(container.securityContext!.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext!.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext!.capabilities!.drop, ["ALL"]);
    assert.ok(container.resources!.requests!["cpu"] && container.resources!.limits!["memory"]);
    assert.equal(container.readinessProbe!.httpGet!.path, "/readyz");
    assert.equal(container.livenessProbe!.httpGet!.path, "/healthz");
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(spec.template.metadata!.labels!["sidecar.istio.io/inject"], "false");
    assert.equal(find("PodDisruptionBudget").spec!.maxUnavailable, 1);
    const namespace = find("Namespace");
    assert.equal(namespace.metadata.labels?.["mesh-tailor.io/enabled"], "false");
  });

  it("lets traffic reach only the webhook's port and its probe port, and none leave it", () => {
    const policy = find("NetworkPolicy", "mesh-tailor");
    const deployment = find("Deployment");
    const podLabels = deployment.spec!.template.metadata!.labels!;
    for (const [key, value] of Object.entries(policy.spec!.podSelector.matchLabels!))
      assert.equal(podLabels[key], value, `selects the webhook's pods by ${key}`);
    assert.deepEqual(policy.spec!.policyTypes, ["Ingress", "Egress"]);
    assert.deepEqual(policy.spec!.ingress, [
      {
        ports: [
          { port: 8443, protocol: "TCP" },
          { port: 8080, protocol: "TCP" },
        ],
      },
    ]);
    assert.deepEqual(policy.spec!.egress, []);
    const container = deployment.spec!.template.spec!.containers[0]!;
    assert.deepEqual(
      container.ports!.map((p) => [p.name, p.containerPort]),
      [
        ["https", 8443],
        ["http-probes", 8080],
      ],
    );
    // The probes, on their own listener, which admission traffic cannot starve.
    assert.ok(container.args!.includes("--probe-port=8080"));
    for (const probe of [container.readinessProbe!, container.livenessProbe!]) {
      assert.equal(probe.httpGet!.port, "http-probes");
      assert.equal(probe.httpGet!.scheme, undefined, "plain HTTP");
    }
  });

  it("keeps a busy replica alive and scheduled: critical priority, a patient liveness probe, a measured memory limit", () => {
    const pod = find("Deployment").spec!.template.spec!;
    const container = pod.containers[0]!;
    assert.equal(pod.priorityClassName, "system-cluster-critical");
    assert.ok(container.livenessProbe!.timeoutSeconds! * container.livenessProbe!.failureThreshold! >= 30, "a slow answer is not a dead replica");
    assert.equal(container.resources!.limits!["memory"], "384Mi");
  });

  it("ships a policy ConfigMap that validates, mounted where serve reads it", () => {
    const configMap = find("ConfigMap", "mesh-tailor-policy");
    assert.equal(loadPolicy(configMap.data!["policy.yaml"]!).policy.apiVersion, "mesh-tailor.io/v1alpha1");
    const args = find("Deployment").spec!.template.spec!.containers[0]!.args!;
    assert.ok(args.includes("--config=/etc/mesh-tailor/policy/policy.yaml"));
  });

  it("keeps no role for the certificate job: it and its RBAC are manifests/certs-job, applied once and deleted", () => {
    const certsObjects = objects.filter((o) => o.metadata.name === "mesh-tailor-certs").map((o) => o.kind);
    assert.deepEqual(certsObjects, ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"], "only the policy that bounds it stays installed");
    assert.deepEqual(certsJob.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`).sort(), [
      "ClusterRole//mesh-tailor-certs",
      "ClusterRoleBinding//mesh-tailor-certs",
      "Job/mesh-tailor/mesh-tailor-certs",
      "Role/mesh-tailor/mesh-tailor-certs",
      "RoleBinding/mesh-tailor/mesh-tailor-certs",
      "ServiceAccount/mesh-tailor/mesh-tailor-certs",
    ]);
    const job = find("Job", "mesh-tailor-certs", certsJob);
    const pod = job.spec!.template.spec!;
    assert.equal(pod.serviceAccountName, "mesh-tailor-certs");
    assert.deepEqual(pod.containers[0]!.args, [
      "certs",
      "webhook",
      "--out=/work/certs",
      "--service=mesh-tailor",
      "--namespace=mesh-tailor",
      "--apply",
      "--if-missing",
    ]);
    assert.equal(pod.containers[0]!.image, find("Deployment", "mesh-tailor").spec!.template.spec!.containers[0]!.image, "the webhook's own image");
    assert.equal(pod.containers[0]!.securityContext!.readOnlyRootFilesystem, true);
  });

  it("grants the certificate job only what `certs webhook --apply` does: get, create and update its Secret, get and patch its configuration", () => {
    assert.deepEqual(
      rulesOf("mesh-tailor-certs", certsJob),
      sorted([
        { namespace: "mesh-tailor", rule: { apiGroups: [""], resources: ["secrets"], verbs: ["create"] } },
        { namespace: "mesh-tailor", rule: { apiGroups: [""], resources: ["secrets"], resourceNames: ["mesh-tailor-tls"], verbs: ["get", "update"] } },
        {
          namespace: undefined,
          rule: {
            apiGroups: ["admissionregistration.k8s.io"],
            resources: ["mutatingwebhookconfigurations"],
            resourceNames: ["00-mesh-tailor"],
            verbs: ["get", "patch"],
          },
        },
      ]),
    );
  });

  it("bounds what RBAC cannot with a ValidatingAdmissionPolicy per ServiceAccount, denying, failing closed, matching only its requests", () => {
    for (const [account, resources] of [
      ["mesh-tailor-certs", ["mutatingwebhookconfigurations", "secrets"]],
      ["mesh-tailor-controller", ["namespaces", "sidecars", "leases"]],
    ] as const) {
      const policy = find("ValidatingAdmissionPolicy", account);
      assert.equal(policy.metadata.namespace, undefined, "cluster-scoped");
      assert.equal(policy.spec!.failurePolicy, "Fail");
      assert.deepEqual(policy.spec!.matchConditions, [
        { name: policy.spec!.matchConditions![0]!.name, expression: `request.userInfo.username == 'system:serviceaccount:mesh-tailor:${account}'` },
      ]);
      assert.deepEqual(
        policy.spec!.matchConstraints!.resourceRules!.flatMap((r) => r.resources),
        resources,
      );
      const binding = find("ValidatingAdmissionPolicyBinding", account);
      assert.equal(binding.metadata.namespace, undefined, "cluster-scoped");
      assert.deepEqual(binding.spec, { policyName: account, validationActions: ["Deny"] });
    }
    const certs = find("ValidatingAdmissionPolicy", "mesh-tailor-certs").spec!;
    assert.ok(certs.validations!.some((v) => v.expression.includes("request.name == '00-mesh-tailor'") && v.expression.includes("variables.onlyCaBundles")));
    assert.ok(
      certs.validations!.some((v) => v.expression.includes("object.metadata.name == 'mesh-tailor-tls'") && v.expression.includes("'kubernetes.io/tls'")),
    );
    const controller = find("ValidatingAdmissionPolicy", "mesh-tailor-controller").spec!;
    for (const bound of ["variables.onlyItsLabelAndAnnotation", "variables.marksOrUnmarksASandbox", "variables.newManaged", "'mesh-tailor-controller'"])
      assert.ok(
        controller.validations!.some((v) => v.expression.includes(bound)),
        bound,
      );
  });

  it("grants nothing by wildcard, to anyone", () => {
    for (const object of [...objects, ...certsJob].filter((o) => o.kind === "Role" || o.kind === "ClusterRole")) {
      for (const rule of object["rules"] as IPolicyRule[])
        assert.ok(!rule.verbs.includes("*") && !rule.resources!.includes("*"), `${object.kind}/${object.metadata.name} has no wildcard`);
    }
  });

  it("tables in the README the very rules kustomize renders (scripts/rbac-tables.ts reads the files, with their comments)", () => {
    for (const { account, files } of RBAC_TABLES) {
      const tabled = sorted(grantedRules(account, files).map(({ namespace, rule }) => ({ namespace, rule })));
      assert.deepEqual(tabled, rulesOf(account, [...objects, ...certsJob]), account);
      for (const { why } of grantedRules(account, files)) assert.ok(why.length > 10, `${account}: every rule says why`);
    }
  });

  it("runs the controller as two leader-elected replicas with exactly the RBAC it uses", () => {
    const deployment = find("Deployment", "mesh-tailor-controller");
    assert.equal(deployment.spec!.replicas, 2);
    const pod = deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    assert.equal(pod.serviceAccountName, "mesh-tailor-controller");
    assert.deepEqual(container.args, ["controller", "--port=8080", "--config=/etc/mesh-tailor/policy/policy.yaml"]);
    assert.equal(container.readinessProbe!.httpGet!.path, "/readyz");
    assert.equal(container.livenessProbe!.httpGet!.path, "/healthz");
    assert.equal(pod.volumes!.find((v) => v.name === "policy")!.configMap!.name, "mesh-tailor-policy", "the webhook's policy ConfigMap, hot reloaded");
    assert.equal(container.securityContext!.readOnlyRootFilesystem, true);
    // Verb by verb what src/controller does: list + watch (the mirrors: namespaces, and Sidecars
    // with the field selector metadata.name=default), PATCH a namespace, POST / PUT / DELETE the
    // Sidecar named default, POST / GET / PUT its Lease, POST Events in "default" (src/kube/events.ts).
    assert.deepEqual(
      rulesOf("mesh-tailor-controller", objects),
      sorted([
        { namespace: undefined, rule: { apiGroups: [""], resources: ["namespaces"], verbs: ["list", "watch"] } },
        { namespace: undefined, rule: { apiGroups: [""], resources: ["namespaces"], verbs: ["patch"] } },
        {
          namespace: undefined,
          rule: { apiGroups: ["networking.istio.io"], resources: ["sidecars"], resourceNames: ["default"], verbs: ["list", "watch", "update", "delete"] },
        },
        { namespace: undefined, rule: { apiGroups: ["networking.istio.io"], resources: ["sidecars"], verbs: ["create"] } },
        { namespace: "mesh-tailor", rule: { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] } },
        {
          namespace: "mesh-tailor",
          rule: { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: ["mesh-tailor-controller"], verbs: ["get", "update"] },
        },
        { namespace: "default", rule: { apiGroups: [""], resources: ["events"], verbs: ["create"] } },
      ]),
    );
    const policy = find("NetworkPolicy", "mesh-tailor-controller");
    assert.deepEqual(policy.spec!.ingress, [{ ports: [{ port: 8080, protocol: "TCP" }] }]);
  });
});
