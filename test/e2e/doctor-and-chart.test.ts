import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AdmissionregistrationV1Api, AppsV1Api, CoreV1Api, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions } from "@kubernetes/client-node";
import { issueServingBundle } from "../../src/certs/serving.js";
import { chainsTo, pemCertificates } from "../../src/ops/doctor/certificates.js";
import { startControlPlane, type ControlPlane } from "./harness/control-plane.js";
import { runHookJobs, type HookJobRunner } from "./harness/hook-jobs.js";
import { infraBinary } from "./harness/infra.js";
import { REPO, startMeshCluster, type MeshCluster } from "./harness/mesh-cluster.js";
import { waitFor } from "./harness/processes.js";
import { startWorkloadControllers, type WorkloadControllers } from "./harness/workload-controllers.js";
import { stringify } from "yaml";
import { CLI } from "../fixtures/serve-process.js";

const POLICY = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices: []\n";

interface Check {
  check: string;
  status: "ok" | "warning" | "error";
  detail: string;
  fix?: string;
}

describe("mesh-tailor doctor, each check broken on purpose on a real cluster", { timeout: 900_000 }, () => {
  let cluster: MeshCluster;
  let apps: AppsV1Api;
  let admission: AdmissionregistrationV1Api;

  const doctor = async (): Promise<{ code: number; checks: Check[] }> => {
    const run = await cluster.cli(["doctor", "-o", "json"]);
    assert.ok(run.stdout.startsWith("{"), `doctor printed JSON (exit ${run.code}): ${run.stdout}${run.stderr}`);
    return { code: run.code, checks: (JSON.parse(run.stdout) as { checks: Check[] }).checks };
  };
  /** Waits until doctor reports CHECK with STATUS (and DETAIL), the cluster's state being asynchronous. */
  const reported = (check: string, status: Check["status"], detail: RegExp = /./) =>
    waitFor(
      `doctor to report ${check} ${status} matching ${detail}`,
      60_000,
      async () => {
        const { code, checks } = await doctor();
        const found = checks.filter((c) => c.check === check);
        return found.some((c) => c.status === status && detail.test(c.detail)) ? { code, checks, found } : undefined;
      },
      500,
    );
  const available = (namespace: string, name: string) =>
    waitFor(
      `Deployment ${namespace}/${name} to be available`,
      120_000,
      async () => {
        const d = await apps.readNamespacedDeployment({ namespace, name });
        return (d.status?.availableReplicas ?? 0) >= (d.spec?.replicas ?? 1) && (d.spec?.replicas ?? 1) > 0 ? true : undefined;
      },
      500,
    );
  const scale = (namespace: string, name: string, replicas: number) =>
    apps.patchNamespacedDeployment({ namespace, name, body: { spec: { replicas } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));

  before(async () => {
    cluster = await startMeshCluster(POLICY, { workloads: true });
    apps = cluster.controlPlane.kubeConfig.makeApiClient(AppsV1Api);
    admission = cluster.controlPlane.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    for (const object of cluster.istio.istiod) await cluster.applyServerSide(object);
    const bootstrap = await cluster.cli(["certs", "bootstrap", "--out", join(cluster.dir, "mesh-ca"), "--clusters", "e2e", "--key-size", "2048", "--apply"]);
    assert.equal(bootstrap.code, 0, bootstrap.stderr);
    for (const [namespace, name] of [
      ["mesh-tailor", "mesh-tailor"],
      ["mesh-tailor", "mesh-tailor-controller"],
      ["istio-system", "istiod"],
    ] as const)
      await available(namespace, name);
  });
  after(async () => {
    await cluster?.stop();
  });

  it("finds nothing wrong with the installation manifests/ makes, on a kube-apiserver that reports its real version", async () => {
    const { checks } = await reported("webhook", "ok");
    assert.deepEqual(
      checks.filter((c) => c.status !== "ok"),
      [],
      JSON.stringify(checks, null, 2),
    );
    const { code } = await doctor();
    assert.equal(code, 0);
    assert.match(checks.find((c) => c.check === "kubernetes-version")!.detail, /^v1\.34\.\d+: has the sleep lifecycle action/);
    assert.match(checks.find((c) => c.check === "istio")!.detail, /istiod revisions: default \(/);
  });

  it("webhook-order: an Istio injector configuration named to sort first is an error, exit 1", async () => {
    const copy = structuredClone(cluster.istio.injectorWebhook);
    const early = {
      ...copy,
      metadata: { name: "0-istio-sidecar-injector-early" },
      webhooks: (copy.webhooks ?? []).map((w) => ({ ...w, clientConfig: { url: "https://127.0.0.1:1/inject" }, failurePolicy: "Ignore" })),
    };
    await admission.createMutatingWebhookConfiguration({ body: early });
    try {
      const { code, found } = await reported("webhook-order", "error", /0-istio-sidecar-injector-early sorts before 00-mesh-tailor/);
      assert.equal(code, 1);
      assert.match(found[0]!.fix!, /sorts before/);
    } finally {
      await admission.deleteMutatingWebhookConfiguration({ name: early.metadata.name });
    }
    await reported("webhook-order", "ok");
  });

  it("ca-bundle: a caBundle of another CA is an error; the certificate's days left are reported", async () => {
    const original = await admission.readMutatingWebhookConfiguration({ name: "00-mesh-tailor" });
    const foreign = await issueServingBundle({ hosts: ["mesh-tailor.mesh-tailor.svc"], days: 30 });
    const setBundle = (caBundle: string) =>
      admission.patchMutatingWebhookConfiguration(
        { name: "00-mesh-tailor", body: [{ op: "replace", path: "/webhooks/0/clientConfig/caBundle", value: caBundle }] },
        setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
      );
    await setBundle(Buffer.from(foreign.caPem).toString("base64"));
    try {
      const { code, found } = await reported("ca-bundle", "error", /does not verify the certificate in Secret mesh-tailor\/mesh-tailor-tls/);
      assert.equal(code, 1);
      assert.match(found[0]!.fix!, /certs webhook/);
    } finally {
      await setBundle(original.webhooks![0]!.clientConfig.caBundle!);
    }
    await reported("ca-bundle", "ok");
    await reported("serving-certificate", "ok", /36[45] days left/);
  });

  it("serving-certificate: one that expires within 30 days is a warning (exit 0)", async () => {
    const rotate = await cluster.cli([
      "certs",
      "webhook",
      "--out",
      join(cluster.dir, "short-lived"),
      "--service",
      "mesh-tailor",
      "--namespace",
      "mesh-tailor",
      "--ip",
      "127.0.0.1",
      "--days",
      "10",
      "--apply",
      "--force",
    ]);
    assert.equal(rotate.code, 0, rotate.stderr);
    const { code } = await reported("serving-certificate", "warning", /(9|10) days left/);
    assert.equal(code, 0);
    await reported("ca-bundle", "ok");
  });

  it("mesh-ca: no istio-system/cacerts is a warning", async () => {
    await cluster.core.deleteNamespacedSecret({ namespace: "istio-system", name: "cacerts" });
    await reported("mesh-ca", "warning", /no istio-system\/cacerts/);
  });

  it("webhook and controller: a webhook scaled to nothing is an error, a missing controller a warning", async () => {
    await scale("mesh-tailor", "mesh-tailor", 0);
    const { code } = await reported("webhook", "error", /0 of 0 replicas/);
    assert.equal(code, 1);
    await scale("mesh-tailor", "mesh-tailor", 3);
    await available("mesh-tailor", "mesh-tailor");
    await reported("webhook", "ok", /3 of 3/);
    await apps.deleteNamespacedDeployment({ namespace: "mesh-tailor", name: "mesh-tailor-controller" });
    await reported("controller", "warning", /no Deployment mesh-tailor\/mesh-tailor-controller/);
  });

  it("istiod-tuning, gateway-concurrency, node-local-dns: past 1,000 Services, istiod at its defaults, a gateway with no CPU limit and no DNS cache are warnings; doing what doctor says clears each", async () => {
    for (const check of ["istiod-tuning", "gateway-concurrency", "node-local-dns"]) await reported(check, "ok");
    /** Runs the command a fix starts with, as printed, against this cluster. */
    const runFix = (fix: string) =>
      new Promise<void>((resolve, reject) => {
        const [tool, ...args] = fix.split(/\s{2,}/)[0]!.split(" ");
        assert.equal(tool, "kubectl", fix);
        execFile("kubectl", ["--kubeconfig", cluster.controlPlane.kubeconfigPath, ...args], (error, _stdout, stderr) =>
          error ? reject(new Error(`${fix}: ${stderr}`)) : resolve(),
        );
      });

    // A gateway as the gateway chart renders it, its CPU request and no limit (no replicas: the check reads the Deployment).
    const gatewayLabels = { app: "istio-ingressgateway", istio: "ingressgateway" };
    await apps.createNamespacedDeployment({
      namespace: "istio-system",
      body: {
        metadata: { name: "istio-ingressgateway", labels: gatewayLabels },
        spec: {
          replicas: 0,
          selector: { matchLabels: gatewayLabels },
          template: {
            metadata: { labels: { ...gatewayLabels, "sidecar.istio.io/inject": "true" }, annotations: { "inject.istio.io/templates": "gateway" } },
            spec: { containers: [{ name: "istio-proxy", image: "auto", resources: { requests: { cpu: "100m", memory: "128Mi" } } }] },
          },
        },
      },
    });
    const gateway = await reported("gateway-concurrency", "warning", /istio-system\/istio-ingressgateway: no CPU limit and no concurrency: .*; set 2$/);
    assert.match(gateway.found[0]!.fix!, /^kubectl -n istio-system set resources deployment istio-ingressgateway -c istio-proxy --limits=cpu=2 /);
    await runFix(gateway.found[0]!.fix!);
    await reported("gateway-concurrency", "ok", /2 Envoy worker\(s\), from its CPU limit 2/);

    // Made large the cheap way: 1,000 headless Services (no ClusterIP to allocate), 50 at a time.
    await cluster.createNamespace("scale", {});
    const names = Array.from({ length: 1_000 }, (_, i) => `svc-${i}`);
    for (let i = 0; i < names.length; i += 50)
      await Promise.all(
        names.slice(i, i + 50).map((name) =>
          cluster.core.createNamespacedService({
            namespace: "scale",
            body: { metadata: { name }, spec: { clusterIP: "None", selector: { app: name }, ports: [{ port: 80 }] } },
          }),
        ),
      );
    try {
      const tuning = await reported("istiod-tuning", "warning", /PILOT_FILTER_GATEWAY_CLUSTER_CONFIG is unset, false: set true/);
      assert.match(tuning.found[0]!.detail, /^istiod istio-system\/istiod at 1,0\d\d Services, /);
      assert.match(tuning.found[0]!.detail, /PILOT_DEBOUNCE_AFTER is unset, 100ms: set 500ms.*PILOT_DEBOUNCE_MAX is unset, 10s: set 3s/);
      assert.equal(tuning.code, 0, "a warning: exit 0");
      await runFix(tuning.found[0]!.fix!);
      const istiod = await apps.readNamespacedDeployment({ namespace: "istio-system", name: "istiod" });
      const env = istiod.spec!.template.spec!.containers.find((c) => c.name === "discovery")!.env!;
      assert.equal(env.find((e) => e.name === "PILOT_DEBOUNCE_MAX")?.value, "3s");
      await reported("istiod-tuning", "ok", /its push settings are set for this size/);

      const dns = await reported("node-local-dns", "warning", /pod\(s\) send every lookup to the cluster DNS Service \(dnsPolicy ClusterFirst: /);
      assert.match(dns.found[0]!.fix!, /nodelocaldns/);
      // NodeLocal DNSCache's DaemonSet as the upstream addon names it (scheduled nowhere: the check reads the DaemonSet).
      const cacheLabels = { "k8s-app": "node-local-dns" };
      await apps.createNamespacedDaemonSet({
        namespace: "kube-system",
        body: {
          metadata: { name: "node-local-dns", labels: cacheLabels },
          spec: {
            selector: { matchLabels: cacheLabels },
            template: {
              metadata: { labels: cacheLabels },
              spec: {
                nodeSelector: { "e2e.mesh-tailor.io/nowhere": "true" },
                containers: [{ name: "node-cache", image: "registry.k8s.io/dns/k8s-dns-node-cache:1.26.4" }],
              },
            },
          },
        },
      });
      await reported("node-local-dns", "ok", /NodeLocal DNSCache runs: DaemonSet kube-system\/node-local-dns/);
    } finally {
      await cluster.core.deleteNamespace({ name: "scale" });
    }
  });

  it("istio: no istiod is a warning", async () => {
    await apps.deleteNamespacedDeployment({ namespace: "istio-system", name: "istiod" });
    await reported("istio", "warning", /no istiod Deployment/);
  });

  it("untailored-namespaces: a namespace Istio injects and mesh-tailor does not is a warning, fixed by namespaces enable", async () => {
    await cluster.createNamespace("legacy", { "istio-injection": "enabled" });
    const { found } = await reported("untailored-namespaces", "warning", /legacy/);
    assert.equal(found[0]!.fix, "mesh-tailor namespaces enable legacy");
    // `namespaces list` judges the same way, by the same live selectors: a conflict, exit 1.
    const conflict = /conflict: legacy: Istio injects every pod here \(istio-injection=enabled\) but mesh-tailor does not tailor it/;
    const list = await cluster.cli(["namespaces", "list"]);
    assert.equal(list.code, 1, list.stderr);
    assert.match(list.stderr, conflict);
    const enable = await cluster.cli(["namespaces", "enable", "legacy"]);
    assert.equal(enable.code, 0, enable.stderr);
    await reported("untailored-namespaces", "ok");
    assert.doesNotMatch((await cluster.cli(["namespaces", "list"])).stderr, conflict);
  });
});

describe("the Helm chart, installed with helm against the real kube-apiserver", { timeout: 900_000 }, () => {
  let dir: string;
  let controlPlane: ControlPlane;
  let workloads: WorkloadControllers;
  let hooks: HookJobRunner;

  const helm = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        infraBinary("helm"),
        [...args, "--kubeconfig", controlPlane.kubeconfigPath],
        {
          env: { ...process.env, HELM_CACHE_HOME: join(dir, "helm-cache"), HELM_CONFIG_HOME: join(dir, "helm-config"), HELM_DATA_HOME: join(dir, "helm-data") },
        },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
      ),
    );
  const cli = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [CLI, ...args], { env: { ...process.env, KUBECONFIG: controlPlane.kubeconfigPath } }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
      ),
    );
  const core = () => controlPlane.kubeConfig.makeApiClient(CoreV1Api);
  const admission = () => controlPlane.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const rbac = () => controlPlane.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  const missing = (read: Promise<unknown>) =>
    read.then(
      () => false,
      (error: { code?: number }) => error.code === 404,
    );
  const POLICIES = ["mesh-tailor-certs", "mesh-tailor-controller"];
  const chart = join(REPO, "charts", "mesh-tailor");

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "mesh-tailor-helm-"));
    controlPlane = await startControlPlane(join(dir, "cluster"));
    workloads = await startWorkloadControllers(controlPlane, join(dir, "cluster"));
    hooks = runHookJobs(controlPlane, dir, "mesh-tailor");
  });
  after(async () => {
    await hooks?.stop();
    await workloads?.stop();
    await controlPlane?.stop();
    if (dir && !process.env["MESH_TAILOR_E2E_KEEP"]) rmSync(dir, { recursive: true, force: true });
  });

  it("installs: the certificate hooks run as their ServiceAccount, the caBundle verifies the Secret, both Deployments become available", async () => {
    const install = await helm("install", "mesh-tailor", chart, "--namespace", "mesh-tailor", "--create-namespace", "--wait", "--timeout", "5m");
    assert.equal(install.code, 0, `${install.stderr}\nhook runs: ${hooks.runs.join(", ")}`);
    assert.deepEqual(hooks.runs, ["mesh-tailor-certs-pre 0", "mesh-tailor-certs-post 0"]);
    const secret = await core().readNamespacedSecret({ namespace: "mesh-tailor", name: "mesh-tailor-tls" });
    const served = new X509Certificate(Buffer.from(secret.data!["tls.crt"]!, "base64"));
    const configuration = await admission().readMutatingWebhookConfiguration({ name: "00-mesh-tailor" });
    const bundle = pemCertificates(Buffer.from(configuration.webhooks![0]!.clientConfig.caBundle!, "base64").toString("utf8"));
    assert.ok(chainsTo(served, [], bundle), "the caBundle verifies the served certificate");
    assert.equal(served.checkHost("mesh-tailor.mesh-tailor.svc"), "mesh-tailor.mesh-tailor.svc");
    // The hooks' RBAC is gone once they succeeded; the admission policies that bound them and the
    // controller are release objects.
    assert.ok(
      await missing(core().readNamespacedServiceAccount({ namespace: "mesh-tailor", name: "mesh-tailor-certs" })),
      "no certificate ServiceAccount left",
    );
    assert.ok(await missing(rbac().readClusterRole({ name: "mesh-tailor-certs" })), "no certificate ClusterRole left");
    assert.ok(await missing(rbac().readNamespacedRole({ namespace: "mesh-tailor", name: "mesh-tailor-certs" })), "no certificate Role left");
    for (const name of POLICIES) await admission().readValidatingAdmissionPolicyBinding({ name });
    await rbac().readNamespacedRoleBinding({ namespace: "default", name: "mesh-tailor-controller-events" });

    const doctor = await cli("doctor", "-o", "json");
    const { checks } = JSON.parse(doctor.stdout) as { checks: Check[] };
    for (const name of ["ca-bundle", "serving-certificate", "webhook", "controller", "kubernetes-version"]) {
      assert.equal(checks.find((c) => c.check === name)?.status, "ok", `${name}: ${JSON.stringify(checks)}`);
    }
    assert.equal(doctor.code, 0, "no Istio yet is a warning, not an error");
  });

  it("upgrades with a new policy: the ConfigMap changes, the Secret is kept, the hooks run again", async () => {
    const before = await core().readNamespacedSecret({ namespace: "mesh-tailor", name: "mesh-tailor-tls" });
    const policy = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices:\n  - name: reviews\n";
    const values = join(dir, "values.yaml");
    writeFileSync(values, stringify({ policy }));
    const upgrade = await helm("upgrade", "mesh-tailor", chart, "--namespace", "mesh-tailor", "-f", values, "--wait", "--timeout", "5m");
    assert.equal(upgrade.code, 0, upgrade.stderr);
    assert.deepEqual(hooks.runs.slice(2), ["mesh-tailor-certs-pre 0", "mesh-tailor-certs-post 0"]);
    const after = await core().readNamespacedSecret({ namespace: "mesh-tailor", name: "mesh-tailor-tls" });
    assert.equal(after.metadata!.resourceVersion, before.metadata!.resourceVersion, "the Secret is not rotated by an upgrade");
    const configMap = await core().readNamespacedConfigMap({ namespace: "mesh-tailor", name: "mesh-tailor-policy" });
    assert.equal(configMap.data!["policy.yaml"], policy);
  });

  it("uninstalls, leaving no webhook configuration, admission policy or role behind", async () => {
    const uninstall = await helm("uninstall", "mesh-tailor", "--namespace", "mesh-tailor", "--wait");
    assert.equal(uninstall.code, 0, uninstall.stderr);
    await assert.rejects(admission().readMutatingWebhookConfiguration({ name: "00-mesh-tailor" }), (error: { code?: number }) => error.code === 404);
    for (const name of POLICIES) assert.ok(await missing(admission().readValidatingAdmissionPolicy({ name })), name);
    assert.ok(await missing(rbac().readNamespacedRole({ namespace: "default", name: "mesh-tailor-controller-events" })), "the Events Role in default");
  });
});
