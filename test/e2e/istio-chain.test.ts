import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BatchV1Api, dumpYaml, type KubernetesObject, type V1Pod } from "@kubernetes/client-node";
import { parse, parseAllDocuments } from "yaml";
import { cli } from "../fixtures/run-cli.js";
import { assertContains } from "./harness/contains.js";
import { kubeInject } from "./harness/istio.js";
import { REPO, renderManifests, startMeshCluster, type MeshCluster } from "./harness/mesh-cluster.js";
import type { AdmissionEntry } from "./harness/mesh-tailor-process.js";
import { waitFor } from "./harness/processes.js";

// The policy under test: reviews migrated in every shop* namespace (with Host passthrough),
// the nightly-report Job in batch*, everything else left out of the mesh.
const POLICY = `apiVersion: mesh-tailor.io/v1alpha1
kind: TailorPolicy
mesh:
  enabled: true
defaults:
  inject: false
  proxyResources: {cpu: 100m, memory: 128Mi}
services:
  - namespace: "shop*"
    name: reviews
    hostPassthrough: both
    connection: {localPortRange: "15100-65000", http10: true, idleTimeout: 2h}
  - namespace: "batch*"
    name: nightly-report
  - namespace: "amb-*"
    name: catalog
    dataplane: ambient
    waypoint: catalog-waypoint
locality:
  default: eu-west1.eu-west1-b
`;
const ROLLED_BACK = POLICY.replace("  enabled: true\n", "  enabled: false\n");

const OPTED_IN = { "mesh-tailor.io/enabled": "true" };
// The namespace-wide injection label: without per-service selection it would sweep in every pod.
const OPTED_IN_WITH_ISTIO = { ...OPTED_IN, "istio-injection": "enabled" };

/**
 * A Deployment's pod as its ReplicaSet would create it (no controller-manager runs, so the test
 * does): one app container with a 30 s preStop. The owner need not exist for kube-apiserver.
 */
function appPod(name: string, app: string, extra: { annotations?: Record<string, string> } = {}): V1Pod {
  const hash = "7d4b9c8f6d";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      labels: { app, "pod-template-hash": hash },
      annotations: extra.annotations,
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: `${app}-${hash}`, uid: randomUUID(), controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      containers: [
        {
          name: "app",
          image: `${app}:1.0`,
          ports: [{ containerPort: 9080, name: "http" }],
          lifecycle: { preStop: { exec: { command: ["sleep", "30"] } } },
        },
      ],
    },
  };
}

/** A container in its wire form, as far as these tests read it. */
interface WireContainer {
  name: string;
  restartPolicy?: string;
  resources?: { requests?: Record<string, string> };
  lifecycle?: { postStart?: unknown; preStop?: unknown };
  env?: { name: string; value?: string }[];
}

/** A pod in its wire form (plain JSON), as far as these tests read it. */
interface WirePod {
  metadata: { uid?: string; creationTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: WireContainer[];
    initContainers?: WireContainer[];
    volumes?: { name: string }[];
    terminationGracePeriodSeconds?: number;
    securityContext?: { sysctls?: { name: string; value: string }[] };
  };
  status?: unknown;
}

/** The stored pod as kube-apiserver returned it, in its wire form (plain JSON). */
function wire(pod: V1Pod): WirePod {
  return parse(dumpYaml(pod)) as WirePod;
}

const named = (containers: WireContainer[] | undefined, name: string) => containers?.find((c) => c["name"] === name);

describe("mesh-tailor and Istio's injector in a real kube-apiserver", { timeout: 300_000 }, () => {
  let cluster: MeshCluster;

  before(
    async () => {
      cluster = await startMeshCluster(POLICY);
    },
    { timeout: 240_000 },
  );

  after(async () => {
    await cluster?.stop();
  });

  it("stores a selected service's pod with Istio's classic sidecar and every customization", async () => {
    await cluster.createNamespace("shop", OPTED_IN_WITH_ISTIO);
    const pod = wire(await cluster.createPod("shop", appPod("reviews-classic", "reviews")));
    const labels = pod["metadata"]["labels"]!;
    const annotations = pod["metadata"]["annotations"]!;
    assert.ok(annotations["sidecar.istio.io/status"], "Istio injected");
    const containers = pod["spec"]["containers"];
    assert.equal(containers[0]!.name, "istio-proxy", "the proxy starts first");
    assert.deepEqual(containers[0]!.lifecycle!.postStart, { exec: { command: ["pilot-agent", "wait"] } });
    assert.match(annotations["proxy.istio.io/config"]!, /holdApplicationUntilProxyStarts: true/);
    // The app's preStop is 30 s: the proxy sleeps 5 s longer, and the grace period adds Istio's 5 s drain.
    assert.deepEqual(containers[0]!.lifecycle!.preStop, { sleep: { seconds: 35 } });
    assert.equal(pod["spec"]["terminationGracePeriodSeconds"], 40);
    // HTTP/1.0 accepted and the idle timeout set: Istio's injection turns the ProxyConfig's
    // proxyMetadata into the proxy's env, where pilot-agent reads its ISTIO_META_* metadata.
    const proxyEnv = containers[0]!.env ?? [];
    assert.ok(
      proxyEnv.some((e) => e.name === "ISTIO_META_HTTP10" && e.value === "1") && proxyEnv.some((e) => e.name === "ISTIO_META_IDLE_TIMEOUT" && e.value === "2h"),
      `istio-proxy env: ${JSON.stringify(proxyEnv)}`,
    );
    // A wider source port range, a safe sysctl kube-apiserver stores and Istio's injection keeps.
    assert.deepEqual(pod["spec"]["securityContext"]?.sysctls, [{ name: "net.ipv4.ip_local_port_range", value: "15100 65000" }]);
    assert.equal(labels["sidecar.istio.io/inject"], "true");
    assert.equal(labels["branch"], "master");
    assert.equal(labels["mesh-tailor.io/host-passthrough"], "both");
    // Istio sized the proxy from the annotations mesh-tailor set before it ran.
    assert.deepEqual(named(pod["spec"]["containers"], "istio-proxy")!["resources"]!["requests"], { cpu: "100m", memory: "128Mi" });
    assert.deepEqual(annotations["mesh-tailor.io/applied"]!.split(","), [
      "inject",
      "resources",
      "hold",
      "http10",
      "idle-timeout",
      "prestop",
      "branch",
      "host-passthrough",
      "port-range",
    ]);
  });

  it("stores a native-sidecar pod with the proxy as a restartable init container and the grace period raised", async () => {
    await cluster.createNamespace("shop-native", OPTED_IN_WITH_ISTIO);
    // Istio's per-pod switch for native sidecars (annotation sidecar.istio.io/nativeSidecar).
    const pod = wire(
      await cluster.createPod("shop-native", appPod("reviews-native", "reviews", { annotations: { "sidecar.istio.io/nativeSidecar": "true" } })),
    );
    const proxy = named(pod["spec"]["initContainers"], "istio-proxy");
    assert.ok(proxy, "istio-proxy is an init container");
    assert.equal(proxy.restartPolicy, "Always");
    assert.equal(named(pod["spec"]["containers"], "istio-proxy"), undefined);
    // The kubelet stops native sidecars after the app: Istio's drain hook stays, nothing is prepended.
    assert.deepEqual(
      pod["spec"]["containers"].map((c: { name: string }) => c.name),
      ["app"],
    );
    assert.equal(pod["spec"]["containers"][0]!.lifecycle!.postStart, undefined);
    assert.match(JSON.stringify(proxy.lifecycle!.preStop), /drain/);
    // Istio drains a native proxy from that preStop while the app stops, and its agent exits at
    // once on SIGTERM: the grace period holds the app's 30 s preStop and the 5 s margin, no drain.
    assert.equal(pod["spec"]["terminationGracePeriodSeconds"], 35);
    assert.match(pod["metadata"]["annotations"]!["mesh-tailor.io/applied"]!, /prestop/);
  });

  it("keeps an unselected service out of the mesh although its namespace asks Istio for injection", async () => {
    await cluster.createNamespace("shop-ratings", OPTED_IN_WITH_ISTIO);
    const pod = wire(await cluster.createPod("shop-ratings", appPod("ratings", "ratings")));
    assert.equal(pod["metadata"]["labels"]!["sidecar.istio.io/inject"], "false");
    assert.equal(pod["metadata"]["annotations"]?.["sidecar.istio.io/status"], undefined);
    assert.deepEqual(
      pod["spec"]["containers"].map((c: { name: string }) => c.name),
      ["app"],
    );
    assert.equal(pod["spec"]["initContainers"], undefined);
  });

  // Every combination of the namespace labels that send pods to Istio's injector or to ambient.
  const AMBIENT_NAMESPACES: Record<string, Record<string, string>> = {
    "amb-plain": OPTED_IN,
    "amb-injection": OPTED_IN_WITH_ISTIO,
    "amb-rev": { ...OPTED_IN, "istio.io/rev": "default" },
    "amb-ambient": { ...OPTED_IN, "istio.io/dataplane-mode": "ambient" },
    "amb-injection-ambient": { ...OPTED_IN_WITH_ISTIO, "istio.io/dataplane-mode": "ambient" },
    "amb-rev-ambient": { ...OPTED_IN, "istio.io/rev": "default", "istio.io/dataplane-mode": "ambient" },
  };
  for (const [namespace, namespaceLabels] of Object.entries(AMBIENT_NAMESPACES)) {
    it(`stores an ambient service's pod without a sidecar, enrolled in ambient, in a namespace labelled ${JSON.stringify(namespaceLabels)}`, async () => {
      await cluster.createNamespace(namespace, namespaceLabels);
      const pod = wire(await cluster.createPod(namespace, appPod("catalog-1", "catalog")));
      const labels = pod["metadata"]["labels"]!;
      assert.equal(pod["metadata"]["annotations"]?.["sidecar.istio.io/status"], undefined, "Istio's injector left it alone");
      assert.deepEqual(
        pod["spec"]["containers"].map((c: { name: string }) => c.name),
        ["app"],
      );
      assert.equal(pod["spec"]["initContainers"], undefined);
      assert.equal(labels["sidecar.istio.io/inject"], "false");
      assert.equal(labels["istio.io/dataplane-mode"], "ambient");
      assert.equal(labels["istio.io/use-waypoint"], "catalog-waypoint");
      assert.deepEqual(pod["metadata"]["annotations"]!["mesh-tailor.io/applied"]!.split(","), ["inject", "branch"]);
    });
  }

  it("gives a sidecar service's pod its sidecar in a namespace labelled for ambient, which keeps it out of ambient", async () => {
    await cluster.createNamespace("shop-ambient", { ...OPTED_IN_WITH_ISTIO, "istio.io/dataplane-mode": "ambient" });
    const pod = wire(await cluster.createPod("shop-ambient", appPod("reviews-in-ambient-ns", "reviews")));
    // Istio's CNI never enrols a pod that has sidecar.istio.io/status (its enablement selector).
    assert.ok(pod["metadata"]["annotations"]?.["sidecar.istio.io/status"], "Istio injected it");
    assert.equal(named(pod["spec"]["containers"], "istio-proxy")?.name, "istio-proxy");
    assert.equal(pod["metadata"]["labels"]!["istio.io/dataplane-mode"], undefined);
  });

  it("(the reason for the inject label) Istio's injector gives a sidecar to a pod labelled for ambient that mesh-tailor does not tailor", async () => {
    await cluster.createNamespace("untailored-ambient", { "istio-injection": "enabled" });
    const plain = appPod("catalog-untailored", "catalog");
    const labelled: V1Pod = { ...plain, metadata: { ...plain.metadata, labels: { ...plain.metadata!.labels, "istio.io/dataplane-mode": "ambient" } } };
    const pod = wire(await cluster.createPod("untailored-ambient", labelled));
    assert.ok(pod["metadata"]["annotations"]?.["sidecar.istio.io/status"], "injected: the injector does not look at the ambient label");
  });

  it("labels a Job's pod with istio-locality", async () => {
    await cluster.createNamespace("batch", OPTED_IN);
    const batch = cluster.controlPlane.kubeConfig.makeApiClient(BatchV1Api);
    // No controller-manager runs, so the Job creates no pod: the test creates the one it would.
    const job = await batch.createNamespacedJob({
      namespace: "batch",
      body: {
        metadata: { name: "nightly-report" },
        spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "report", image: "report:1" }] } } },
      },
    });
    const jobPod: V1Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "nightly-report-x7k2p",
        labels: { "job-name": "nightly-report" },
        ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "nightly-report", uid: job.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: { restartPolicy: "Never", containers: [{ name: "report", image: "report:1" }] },
    };
    const pod = wire(await cluster.createPod("batch", jobPod));
    assert.equal(pod["metadata"]["labels"]!["istio-locality"], "eu-west1.eu-west1-b");
    assert.match(pod["metadata"]["annotations"]!["mesh-tailor.io/applied"]!, /locality/);
  });

  it("labels a pod in a sandbox namespace with its branch", async () => {
    await cluster.createNamespace("shop--box-1", OPTED_IN_WITH_ISTIO);
    const pod = wire(await cluster.createPod("shop--box-1", appPod("reviews-sandbox", "reviews")));
    assert.equal(pod["metadata"]["labels"]!["branch"], "box-1");
    assert.ok(pod["metadata"]["annotations"]!["sidecar.istio.io/status"], "shop* still selects reviews in its sandbox");
  });

  it("is called before and after Istio's injector, and stores what `inject | istioctl kube-inject | inject` predicts", async () => {
    // No istio-injection label here: Istio's object selector fires only because mesh-tailor,
    // called first, labelled the pod sidecar.istio.io/inject: "true".
    const namespace = "shop-order";
    await cluster.createNamespace(namespace, OPTED_IN);
    // The ServiceAccount admission plugin runs before every webhook: name the account and skip
    // its token volume, so the offline prediction starts from the pod the webhooks really see.
    const plain = appPod("reviews-order", "reviews");
    // Likewise the port's default protocol, which Istio copies into ISTIO_META_POD_PORTS.
    const containers = plain.spec!.containers.map((c) => ({ ...c, ports: c.ports?.map((p) => ({ ...p, protocol: "TCP" })) }));
    const input: V1Pod = { ...plain, spec: { ...plain.spec!, containers, serviceAccountName: "default", automountServiceAccountToken: false } };
    const stored = wire(await cluster.createPod(namespace, input));
    assert.ok(stored["metadata"]["annotations"]!["sidecar.istio.io/status"], "Istio injected after mesh-tailor's label");

    // The log lines come through a pipe from another process and may trail the API's answer:
    // wait for them (and for Istio's answer to be recorded), never read them once.
    const ours = await waitFor("mesh-tailor's two admission log lines for the pod", 30_000, () => {
      const lines = cluster.meshTailor.admissions().filter((a) => a.namespace === namespace);
      return lines.length >= 2 ? lines : undefined;
    });
    const istios = await waitFor("Istio's injector to have answered the pod", 30_000, () => {
      const calls = cluster.injector.calls.filter((c) => c.namespace === namespace);
      return calls.length >= 1 && calls.every((c) => c.answeredAt !== undefined) ? calls : undefined;
    });
    assert.equal(ours.length, 2, `mesh-tailor called twice (before and reinvoked after): ${JSON.stringify(ours)}`);
    assert.equal(istios.length, 1, "Istio's injector called once");
    const [first, second] = ours as [AdmissionEntry, AdmissionEntry];
    const istio = istios[0]!;
    // The order is proven by what each call saw, not by clocks of two processes: Istio received
    // the pod already carrying mesh-tailor's first edits, and mesh-tailor's second call edited
    // istio-proxy (prestop), which exists only once Istio has injected.
    assert.equal(istio.received.labels["sidecar.istio.io/inject"], "true", "Istio received mesh-tailor's label");
    const appliedBeforeIstio = istio.received.annotations["mesh-tailor.io/applied"]?.split(",") ?? [];
    assert.ok(
      appliedBeforeIstio.includes("inject") && !appliedBeforeIstio.includes("prestop"),
      `Istio received the pod after mesh-tailor's first call: ${appliedBeforeIstio.join(",")}`,
    );
    assert.ok(first.mutations!.includes("inject") && !first.mutations!.includes("prestop"), `first call: ${first.mutations?.join(",")}`);
    assert.ok(second.mutations!.includes("prestop"), `second call, after Istio: ${second.mutations?.join(",")}`);

    const offline = async (object: unknown) => {
      const result = await cli(["inject", "-f", "-", "-n", namespace, "--config", cluster.policyFile, "-o", "json"], JSON.stringify(object));
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as WirePod;
    };
    const before = await offline({ ...input, metadata: { ...input.metadata, namespace } });
    const injected = (await kubeInject(cluster.istio, before)) as WirePod;
    delete injected["metadata"]["creationTimestamp"];
    delete injected["status"];
    const predicted = await offline(injected);
    assertContains(stored, predicted);
    // And nothing beyond the prediction in the parts the webhooks own.
    assert.deepEqual(stored["metadata"]["labels"], predicted["metadata"]["labels"]);
    assert.deepEqual(stored["metadata"]["annotations"], predicted["metadata"]["annotations"]);
    for (const list of ["containers", "initContainers", "volumes"] as const) {
      assert.deepEqual(
        stored["spec"][list]?.map((c: { name: string }) => c.name),
        predicted["spec"][list]?.map((c: { name: string }) => c.name),
        list,
      );
    }
  });

  it("takes a selected service out on its next pod when the policy's rollback switch flips, without a restart", async () => {
    await cluster.createNamespace("shop-rollback", OPTED_IN_WITH_ISTIO);
    const injectLabel = async () =>
      (await cluster.createPod("shop-rollback", appPod("probe", "reviews"), { dryRun: true })).metadata?.labels?.["sidecar.istio.io/inject"];
    assert.equal(await injectLabel(), "true");
    const pid = cluster.meshTailor.child.pid;
    await cluster.writePolicy(ROLLED_BACK);
    try {
      await waitFor("the rolled-back policy to be served", 30_000, async () => ((await injectLabel()) === "false" ? true : undefined), 500);
      const pod = wire(await cluster.createPod("shop-rollback", appPod("reviews-rolled-back", "reviews")));
      assert.equal(pod["metadata"]["labels"]!["sidecar.istio.io/inject"], "false");
      assert.equal(pod["metadata"]["annotations"]?.["sidecar.istio.io/status"], undefined);
      assert.deepEqual(
        pod["spec"]["containers"].map((c: { name: string }) => c.name),
        ["app"],
      );
      assert.equal(cluster.meshTailor.child.pid, pid);
      assert.equal(cluster.meshTailor.child.exitCode, null, "the same process serves on");
    } finally {
      await cluster.writePolicy(POLICY);
      await waitFor("the original policy to be served again", 30_000, async () => ((await injectLabel()) === "true" ? true : undefined), 500);
    }
  });

  it("passes a server-side dry-run apply of every object in manifests/ and every rendered EnvoyFilter", async () => {
    const rendered = await cli(["render", "host-passthrough"]);
    assert.equal(rendered.code, 0, rendered.stderr);
    const envoyFilters = [
      ...parseAllDocuments(rendered.stdout).map((d) => d.toJS() as KubernetesObject),
      ...parseAllDocuments(readFileSync(join(REPO, "manifests/host-passthrough/envoyfilters.yaml"), "utf8")).map((d) => d.toJS() as KubernetesObject),
    ];
    assert.ok(envoyFilters.length >= 5);
    for (const object of [...renderManifests(), ...envoyFilters]) {
      const applied = await cluster.applyServerSide(object, { dryRun: true });
      assert.equal(applied.kind, object.kind);
      assert.equal(applied.metadata?.name, object.metadata?.name);
    }
  });

  it("installs istio-system/cacerts with `certs bootstrap --apply`, and never swaps its root without --force", async () => {
    const first = join(cluster.dir, "mesh-ca");
    const installed = await cluster.cli(["certs", "bootstrap", "--out", first, "--clusters", "east", "--key-size", "2048", "--apply", "--context", "e2e"]);
    assert.equal(installed.code, 0, installed.stderr);
    const readRoot = async () => {
      const secret = await cluster.core.readNamespacedSecret({ namespace: "istio-system", name: "cacerts" });
      return Buffer.from(secret.data!["root-cert.pem"]!, "base64").toString();
    };
    const root = readFileSync(join(first, "root-cert.pem"), "utf8");
    assert.equal(await readRoot(), root);

    const other = await cluster.cli([
      "certs",
      "bootstrap",
      "--out",
      join(cluster.dir, "other-ca"),
      "--clusters",
      "east",
      "--key-size",
      "2048",
      "--apply",
      "--context",
      "e2e",
    ]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /different root CA.*--force/s);
    assert.equal(await readRoot(), root, "the mesh's root is untouched");
  });

  // Last: it stops mesh-tailor.
  it("still creates pods while mesh-tailor is down (failurePolicy: Ignore)", async () => {
    await cluster.meshTailor.stop();
    await cluster.createNamespace("shop-down", OPTED_IN_WITH_ISTIO);
    const pod = wire(await cluster.createPod("shop-down", appPod("reviews-unattended", "reviews")));
    assert.ok(pod["metadata"]["uid"], "stored");
    assert.equal(pod["metadata"]["annotations"]?.["mesh-tailor.io/applied"], undefined);
    // Istio, still up, injects on its own namespace label: exactly what mesh-tailor would have gated.
    assert.ok(pod["metadata"]["annotations"]?.["sidecar.istio.io/status"]);
  });
});
