import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AdmissionregistrationV1Api, AppsV1Api, PatchStrategy, setHeaderOptions, type V1Deployment, type V1Pod } from "@kubernetes/client-node";
import { injectedRevision } from "../../src/namespaces/injection.js";
import type { RolloutTarget } from "../../src/ops/rollout.js";
import type { StaleReasonName } from "../../src/ops/stale-reasons.js";
import type { StatusReport, WorkloadStatus } from "../../src/ops/status.js";
import { startMeshCluster, type MeshCluster } from "./harness/mesh-cluster.js";
import { jsonLines, waitFor } from "./harness/processes.js";
import { deploymentAvailable } from "./harness/workload-controllers.js";

// Two Istio revisions side by side, as in a canary upgrade: the default one on the older proxy
// with classic sidecars, canary on the newer one with native sidecars (istio-proxy an init
// container that keeps running). Every revision says so explicitly, in its values and in the
// environment of its injector alike.
const HUB = "docker.io/istio";
const OLD_TAG = "1.29.2";
const NEW_TAG = "1.30.0";
const IMAGE_A = `${HUB}/proxyv2:${OLD_TAG}`;
const IMAGE_B = `${HUB}/proxyv2:${NEW_TAG}`;
const REVISIONS = [
  { name: "default", nativeSidecars: false, set: [`values.global.hub=${HUB}`, `values.global.tag=${OLD_TAG}`] },
  { name: "canary", nativeSidecars: true, set: [`values.global.hub=${HUB}`, `values.global.tag=${NEW_TAG}`] },
];
const TAG = "prod";

// Three services follow the tag prod, whichever revision it points to; ledger stays pinned to
// the default revision and is never part of the upgrade.
const POLICY = `apiVersion: mesh-tailor.io/v1alpha1
kind: TailorPolicy
services:
  - name: ledger
    revision: default
  - name: cart
    revision: ${TAG}
  - name: checkout
    revision: ${TAG}
  - name: invoices
    revision: ${TAG}
`;
const WORKLOADS = [
  { namespace: "billing", name: "invoices", onTag: true },
  { namespace: "billing", name: "ledger", onTag: false },
  { namespace: "shop", name: "cart", onTag: true },
  { namespace: "shop", name: "checkout", onTag: true },
] as const;
const ON_TAG = WORKLOADS.filter((w) => w.onTag);
const REPLICAS = 2;
const PODS = WORKLOADS.length * REPLICAS;

const deployment = (name: string): V1Deployment => ({
  metadata: { name },
  spec: {
    replicas: REPLICAS,
    selector: { matchLabels: { app: name } },
    // Quick roll-outs: one pod at a time, old ones gone at once (kwok pods stop immediately).
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: `${name}:1` }] } },
  },
});

interface Sidecar {
  /** classic: istio-proxy among the containers; native: an init container with restartPolicy Always. */
  readonly mode: "classic" | "native" | "init container that does not keep running";
  readonly image: string | undefined;
  /** The revision that injected it, as the injection recorded it in sidecar.istio.io/status. */
  readonly revision: string | undefined;
}
const sidecarOf = (pod: V1Pod): Sidecar | undefined => {
  const revision = injectedRevision(pod.metadata?.annotations?.["sidecar.istio.io/status"]);
  const classic = pod.spec?.containers.find((c) => c.name === "istio-proxy");
  if (classic) return { mode: "classic", image: classic.image, revision };
  const init = pod.spec?.initContainers?.find((c) => c.name === "istio-proxy");
  if (init) return { mode: init.restartPolicy === "Always" ? "native" : "init container that does not keep running", image: init.image, revision };
  return undefined;
};
const OLD_SIDECAR: Sidecar = { mode: "classic", image: IMAGE_A, revision: "default" };
const NEW_SIDECAR: Sidecar = { mode: "native", image: IMAGE_B, revision: "canary" };

const staleBy = (row: WorkloadStatus, reason: StaleReasonName): number => row.staleBy[reason];

interface RolloutLine {
  readonly event: string;
  readonly target?: RolloutTarget;
}
const events = (stdout: string): RolloutLine[] => jsonLines<RolloutLine>(stdout);

describe("an Istio upgrade by revision tag: status finds exactly the old proxies, a paced rollout moves them", { timeout: 600_000 }, () => {
  let cluster: MeshCluster;
  let apps: AppsV1Api;

  const podsOf = async (namespace: string, app: string) =>
    (await cluster.core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const status = async (...args: string[]) => {
    const run = await cluster.cli(["status", "-o", "json", ...args]);
    return { code: run.code, stderr: run.stderr, report: JSON.parse(run.stdout || "null") as StatusReport | null };
  };
  const row = (report: StatusReport, namespace: string, name: string) => {
    const found = report.workloads.find((w) => w.namespace === namespace && w.name === name);
    assert.ok(found, `status reports ${namespace}/${name}: ${JSON.stringify(report.workloads.map((w) => `${w.namespace}/${w.name}`))}`);
    return found;
  };
  /** Waits until WORKLOAD's pods are exactly REPLICAS, each Running with SIDECAR; answers them. */
  const podsWith = (workload: { namespace: string; name: string }, sidecar: Sidecar) =>
    waitFor(`${REPLICAS} Running pods of ${workload.namespace}/${workload.name}, each with ${JSON.stringify(sidecar)}`, 120_000, async () => {
      const pods = await podsOf(workload.namespace, workload.name);
      const settled = pods.length === REPLICAS && pods.every((p) => p.status?.phase === "Running" && JSON.stringify(sidecarOf(p)) === JSON.stringify(sidecar));
      return settled ? pods : undefined;
    });

  before(
    async () => {
      cluster = await startMeshCluster(POLICY, { workloads: true, revisions: REVISIONS });
      apps = cluster.controlPlane.kubeConfig.makeApiClient(AppsV1Api);
      // The tag exists before any pod that follows it is created.
      await cluster.setRevisionTag(TAG, "default");
      for (const namespace of new Set(WORKLOADS.map((w) => w.namespace))) await cluster.createNamespace(namespace, { "mesh-tailor.io/enabled": "true" });
      for (const { namespace, name } of WORKLOADS) await apps.createNamespacedDeployment({ namespace, body: deployment(name) });
      for (const { namespace, name } of WORKLOADS) await deploymentAvailable(apps, namespace, name, REPLICAS);
    },
    { timeout: 300_000 },
  );

  after(async () => {
    await cluster?.stop();
  });

  it("serves both revisions, each with its injector ConfigMap in istio-system, and tag prod on the default revision", async () => {
    for (const [name, native] of [
      ["istio-sidecar-injector", false],
      ["istio-sidecar-injector-canary", true],
    ] as const) {
      const map = await cluster.core.readNamespacedConfigMap({ namespace: "istio-system", name });
      assert.ok(map.data?.["config"], `${name} has the injection templates`);
      const values = JSON.parse(map.data?.["values"] ?? "{}") as { global: { hub: string; tag: string }; pilot: { env: Record<string, unknown> } };
      assert.equal(values.pilot.env["ENABLE_NATIVE_SIDECARS"], native, `${name} says whether its revision injects native sidecars`);
      assert.equal(values.global.hub, HUB);
      assert.equal(values.global.tag, native ? NEW_TAG : OLD_TAG);
    }
    const admission = cluster.controlPlane.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    const tag = await admission.readMutatingWebhookConfiguration({ name: `istio-revision-tag-${TAG}` });
    assert.equal(tag.metadata?.labels?.["istio.io/tag"], TAG);
    assert.equal(tag.metadata?.labels?.["istio.io/rev"], "default");
    for (const webhook of tag.webhooks ?? []) assert.equal(webhook.clientConfig.url, cluster.revisions.get("default")!.injector.url, webhook.name);
  });

  it("before the move: every pod runs the default revision's proxy (image A, a classic sidecar) and status finds nothing stale", async () => {
    for (const workload of WORKLOADS) await podsWith(workload, OLD_SIDECAR);
    for (const { namespace, name, onTag } of WORKLOADS) {
      for (const pod of await podsOf(namespace, name))
        assert.equal(pod.metadata?.labels?.["istio.io/rev"], onTag ? TAG : "default", `${name}: mesh-tailor's label`);
    }

    const { code, stderr, report } = await status();
    assert.equal(code, 0, `nothing is stale: ${stderr} ${JSON.stringify(report?.workloads)}`);
    assert.deepEqual(report!.injectors, { default: "default", canary: "canary", [TAG]: "default" });
    assert.equal(report!.summary.stalePods, 0);
    assert.deepEqual(report!.summary.pods.byRevision, { default: PODS });
  });

  it("after tag prod moves to canary: new pods get image B as a native sidecar, exactly the old pods on the tag are stale", async () => {
    await cluster.setRevisionTag(TAG, "canary");
    const admission = cluster.controlPlane.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    const tag = await admission.readMutatingWebhookConfiguration({ name: `istio-revision-tag-${TAG}` });
    assert.equal(tag.metadata?.labels?.["istio.io/rev"], "canary");
    for (const webhook of tag.webhooks ?? []) assert.equal(webhook.clientConfig.url, cluster.revisions.get("canary")!.injector.url, webhook.name);

    // A pod created now, through the whole admission chain (mesh-tailor, then Istio's webhooks as
    // kube-apiserver selects them), without being kept: where the tag sends it, and where not.
    const admitted = async (namespace: string, app: string) =>
      cluster.createPod(
        namespace,
        { metadata: { generateName: `${app}-`, labels: { app } }, spec: { containers: [{ name: "app", image: `${app}:1` }] } },
        { dryRun: true },
      );
    for (const { namespace, name, onTag } of WORKLOADS) {
      assert.deepEqual(sidecarOf(await admitted(namespace, name)), onTag ? NEW_SIDECAR : OLD_SIDECAR, `a new pod of ${namespace}/${name}`);
    }
    // Moving the tag restarts nothing: the running pods keep the old proxy.
    for (const workload of WORKLOADS) await podsWith(workload, OLD_SIDECAR);

    const { code, stderr, report } = await status();
    assert.equal(code, 3, `something is stale: ${stderr}`);
    assert.deepEqual(report!.injectors, { default: "default", canary: "canary", [TAG]: "canary" });
    for (const { namespace, name, onTag } of WORKLOADS) {
      const workload = row(report!, namespace, name);
      if (onTag) {
        assert.equal(staleBy(workload, "proxy-version"), REPLICAS, `${name}: its pods run image A, the tag's revision injects image B`);
        assert.equal(staleBy(workload, "sidecar-mode"), REPLICAS, `${name}: classic sidecars, the tag's revision injects native ones`);
        assert.equal(workload.stale, REPLICAS);
      } else {
        assert.equal(workload.stale, 0, `${name} is pinned to the default revision, outside the tag: ${workload.staleReason}`);
      }
    }
    assert.equal(report!.summary.stalePods, ON_TAG.length * REPLICAS);
    assert.deepEqual(report!.summary.pods.byRevision, { default: PODS });

    const byVersion = await status("--reason", "proxy-version");
    assert.equal(byVersion.code, 3, byVersion.stderr);
    assert.equal(byVersion.report!.summary.stalePods, ON_TAG.length * REPLICAS);
    for (const { namespace, name, onTag } of WORKLOADS) assert.equal(row(byVersion.report!, namespace, name).stale, onTag ? REPLICAS : 0, name);
  });

  it("rollout --reason proxy-version, two at a time, brings every pod on the tag to image B as a native sidecar and leaves the pinned one alone", async () => {
    const pinned = WORKLOADS.find((w) => !w.onTag)!;
    const pinnedPods = (await podsOf(pinned.namespace, pinned.name)).map((p) => p.metadata?.uid).sort();

    const rollout = await cluster.cli(["rollout", "--reason", "proxy-version", "--max-in-flight", "2", "--order", "namespace", "--timeout", "2m", "--yes"]);
    assert.equal(rollout.code, 0, rollout.stderr);
    const lines = events(rollout.stdout);
    const started = lines.filter((e) => e.event === "started").map((e) => `${e.target!.namespace}/${e.target!.name}`);
    assert.deepEqual(started.sort(), ON_TAG.map((w) => `${w.namespace}/${w.name}`).sort());
    // Paced: never more than two restarts under way at once.
    let inFlight = 0;
    for (const line of lines) {
      if (line.event === "started") inFlight += 1;
      if (line.event === "done" || line.event === "failed") inFlight -= 1;
      assert.ok(inFlight <= 2, `more than two restarts at once: ${rollout.stdout}`);
    }
    // By namespace: billing's restart is done before shop's first starts.
    const at = (event: string, workload: string) => lines.findIndex((e) => e.event === event && `${e.target?.namespace}/${e.target?.name}` === workload);
    const shopStarts = lines.flatMap((e, i) => (e.event === "started" && e.target?.namespace === "shop" ? [i] : []));
    const billingDone = at("done", "billing/invoices");
    assert.ok(billingDone >= 0 && shopStarts.length > 0 && billingDone < Math.min(...shopStarts), `one namespace at a time: ${rollout.stdout}`);

    for (const workload of ON_TAG) await deploymentAvailable(apps, workload.namespace, workload.name, REPLICAS);
    for (const workload of ON_TAG) {
      for (const pod of await podsWith(workload, NEW_SIDECAR)) {
        assert.equal(
          pod.spec?.containers.some((c) => c.name === "istio-proxy"),
          false,
          `${pod.metadata?.name}: no classic sidecar left`,
        );
      }
    }
    const samePinned = await podsWith(pinned, OLD_SIDECAR);
    assert.deepEqual(samePinned.map((p) => p.metadata?.uid).sort(), pinnedPods, "the pinned workload was not restarted");

    const { code, stderr, report } = await status();
    assert.equal(code, 0, `nothing is stale: ${stderr} ${JSON.stringify(report?.workloads.filter((w) => w.stale > 0))}`);
    assert.equal(report!.summary.stalePods, 0);
    assert.deepEqual(report!.summary.pods.byRevision, { canary: ON_TAG.length * REPLICAS, default: REPLICAS });
  });
  it("a revision whose injector now gives another image: status finds its pods stale by image, doctor's proxy-versions warns, and both clear when it gives theirs again", async () => {
    // The default revision's ConfigMap moved to a newer build in place (its injector process here
    // keeps its own copy of the values, so nothing is restarted: this reads what status and doctor see).
    const pinned = WORKLOADS.find((w) => !w.onTag)!;
    const name = "istio-sidecar-injector";
    const map = await cluster.core.readNamespacedConfigMap({ namespace: "istio-system", name });
    const original = map.data!["values"]!;
    const values = JSON.parse(original) as { global: { tag: string } };
    const newer = "1.29.3";
    const setValues = (text: string) =>
      cluster.core.patchNamespacedConfigMap(
        { namespace: "istio-system", name, body: { data: { values: text } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    await setValues(JSON.stringify({ ...values, global: { ...values.global, tag: newer } }));
    try {
      const { code, report } = await status("--reason", "proxy-version");
      assert.equal(code, 3);
      const ledger = row(report!, pinned.namespace, pinned.name);
      assert.equal(ledger.stale, REPLICAS);
      assert.equal(ledger.staleReason, `runs proxy ${IMAGE_A}; revision default injects ${HUB}/proxyv2:${newer} now`);
      assert.equal(report!.summary.stalePods, REPLICAS, "the canary pods are as their revision injects them");
      const doctor = await cluster.cli(["doctor", "-o", "json"]);
      const checks = (JSON.parse(doctor.stdout) as { checks: { check: string; status: string; detail: string }[] }).checks;
      const versions = checks.filter((c) => c.check === "proxy-versions");
      assert.deepEqual(
        versions.map((c) => [c.status, c.detail]),
        [["warning", `${REPLICAS} pod(s) run an older proxy than their revision injects now: default: ${IMAGE_A} → ${HUB}/proxyv2:${newer} (${REPLICAS})`]],
      );
    } finally {
      await setValues(original);
    }
    const { code, report } = await status();
    assert.equal(code, 0, JSON.stringify(report?.workloads.filter((w) => w.stale > 0)));
    const doctor = await cluster.cli(["doctor", "-o", "json"]);
    const checks = (JSON.parse(doctor.stdout) as { checks: { check: string; status: string; detail: string }[] }).checks;
    assert.deepEqual(
      checks.filter((c) => c.check === "proxy-versions").map((c) => [c.status, c.detail]),
      [["ok", `pods by revision and proxy image: canary ${IMAGE_B} (${ON_TAG.length * REPLICAS}), default ${IMAGE_A} (${REPLICAS})`]],
    );
  });

  it("redundant-customizations: a mesh-wide Sidecar in istio-system like the controller's is named as given already", async () => {
    const redundant = async () => {
      const doctor = await cluster.cli(["doctor", "-o", "json"]);
      const checks = (JSON.parse(doctor.stdout) as { checks: { check: string; status: string; detail: string }[] }).checks;
      return checks.filter((c) => c.check === "redundant-customizations");
    };
    const before = await redundant();
    assert.deepEqual(
      before.map((c) => c.status),
      ["ok"],
    );
    assert.doesNotMatch(before[0]!.detail, /namespaces.defaultSidecar/);
    await cluster.applyServerSide({
      apiVersion: "networking.istio.io/v1",
      kind: "Sidecar",
      metadata: { name: "default", namespace: "istio-system" },
      spec: { egress: [{ hosts: ["./*", "istio-system/*"] }] },
    } as never);
    const after = await redundant();
    assert.match(
      after[0]!.detail,
      /given already, may be switched off: .*namespaces.defaultSidecar: Sidecar istio-system\/default has no workloadSelector and the same egress hosts/,
    );
  });
});
