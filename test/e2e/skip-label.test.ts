import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import type { CheckResult } from "../../src/ops/doctor/check.js";
import type { StatusReport } from "../../src/ops/status.js";
import { startMeshCluster, type MeshCluster } from "./harness/mesh-cluster.js";
import { waitFor } from "./harness/processes.js";

// mesh-tailor.io/skip against Istio's real injector: it leaves a pod untailored while the mesh is
// enabled (and status and doctor say so when Istio injected it anyway), and never keeps a pod
// from the system-wide rollback.

const HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n";
const ENABLED = `${HEADER}services: []\n`;
const ROLLED_BACK = `${HEADER}mesh:\n  enabled: false\nservices: []\n`;
const NAMESPACE = "legacy";

/** A pod a tenant labelled both to be skipped and to be injected. */
const skipping = (name: string): V1Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, labels: { app: "legacy", "mesh-tailor.io/skip": "true", "sidecar.istio.io/inject": "true" } },
  spec: { containers: [{ name: "app", image: "legacy:1" }] },
});

interface WirePod {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: { name: string }[]; initContainers?: { name: string }[] };
}

const meshTailorKeys = (record: Record<string, string> | undefined) => Object.keys(record ?? {}).filter((key) => key.startsWith("mesh-tailor.io/"));
const containerNames = (pod: WirePod) => [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name);

describe("the skip label on a real cluster: untailored while the mesh is enabled, never past the rollback", { timeout: 300_000 }, () => {
  let cluster: MeshCluster;

  /** kubectl, as a person runs it: what kube-apiserver answers, and the warnings it prints. */
  const kubectl = (args: string[], input?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile("kubectl", ["--kubeconfig", cluster.controlPlane.kubeconfigPath, ...args], (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  const status = async () => {
    const run = await cluster.cli(["status", "--namespace", NAMESPACE, "-o", "json"]);
    assert.ok(run.stdout.startsWith("{"), `status printed JSON (exit ${run.code}): ${run.stdout}${run.stderr}`);
    return { code: run.code, report: JSON.parse(run.stdout) as StatusReport };
  };
  const bypassedPodsCheck = async () => {
    const run = await cluster.cli(["doctor", "-o", "json"]);
    assert.ok(run.stdout.startsWith("{"), `doctor printed JSON (exit ${run.code}): ${run.stdout}${run.stderr}`);
    return (JSON.parse(run.stdout) as { checks: CheckResult[] }).checks.find((c) => c.check === "bypassed-pods")!;
  };

  before(
    async () => {
      cluster = await startMeshCluster(ENABLED);
      await cluster.createNamespace(NAMESPACE, { "mesh-tailor.io/enabled": "true" });
    },
    { timeout: 240_000 },
  );

  after(async () => {
    await cluster?.stop();
  });

  it("with the mesh enabled: mesh-tailor leaves the pod alone, Istio injects it, and status and doctor list it as bypassed", async () => {
    const created = await kubectl(["create", "-n", NAMESPACE, "-f", "-", "-o", "json"], JSON.stringify(skipping("legacy-1")));
    assert.equal(created.code, 0, created.stderr);
    assert.doesNotMatch(created.stderr, /mesh-tailor/, "no warning: nothing was overridden");
    const pod = JSON.parse(created.stdout) as WirePod;
    assert.ok(pod.metadata.annotations?.["sidecar.istio.io/status"], "Istio injected it");
    assert.ok(containerNames(pod).includes("istio-proxy"));
    assert.deepEqual(meshTailorKeys(pod.metadata.annotations), [], "no record of mesh-tailor");
    assert.equal(pod.metadata.labels?.["sidecar.istio.io/inject"], "true");
    // kube-apiserver sent it to mesh-tailor (no objectSelector keeps it away), which skipped it, saying why.
    const logged = await waitFor("mesh-tailor's admission log line for legacy-1", 30_000, () =>
      cluster.meshTailor.admissions().find((a) => a.namespace === NAMESPACE && !a.dryRun && a.outcome === "skipped"),
    );
    assert.match(logged.reason ?? "", /labelled mesh-tailor\.io\/skip: "true"/);

    const { code, report } = await status();
    assert.equal(code, 0, "a bypass alone is listed, not failed");
    const row = report.workloads.find((w) => w.kind === "Pod")!;
    assert.deepEqual([row.withProxy, row.stale, row.bypassed, row.bypassReason], [1, 0, 1, 'labelled mesh-tailor.io/skip: "true"']);
    assert.equal(report.summary.bypassedPods, 1);
    const text = await cluster.cli(["status", "--namespace", NAMESPACE]);
    assert.match(
      text.stdout,
      /^bypassed tailoring: legacy\/pod\/\(bare pods\): 1 pod\(s\) with Istio's proxy, not tailored: labelled mesh-tailor\.io\/skip: "true"$/m,
    );
    assert.match(text.stdout, /, 1 pods injected by Istio without tailoring \(policy /);

    const check = await bypassedPodsCheck();
    assert.equal(check.status, "warning");
    assert.match(
      check.detail,
      /^1 pod\(s\) in enabled namespaces run Istio's proxy without mesh-tailor's tailoring: legacy\/legacy-1 \(labelled mesh-tailor\.io\/skip: "true"\)$/,
    );
    assert.match(check.fix ?? "", /kubectl get pods -A -l mesh-tailor\.io\/skip=true/);
  });

  it("with the rollback on: a new such pod gets no proxy and the override warning, and the one Istio injected is stale", async () => {
    await cluster.servePolicy(ROLLED_BACK);
    try {
      const created = await kubectl(["create", "-n", NAMESPACE, "-f", "-", "-o", "json"], JSON.stringify(skipping("legacy-2")));
      assert.equal(created.code, 0, created.stderr);
      assert.match(
        created.stderr,
        /Warning: mesh-tailor: mesh-wide rollback is on \(mesh\.enabled: false\): sidecar\.istio\.io\/inject="true" on service "legacy" overridden to "false"; mesh-tailor\.io\/skip="true" is not honoured while the rollback is on/,
      );
      const pod = JSON.parse(created.stdout) as WirePod;
      assert.equal(pod.metadata.labels?.["sidecar.istio.io/inject"], "false");
      assert.equal(pod.metadata.annotations?.["sidecar.istio.io/status"], undefined, "Istio's injector did not inject it");
      assert.deepEqual(containerNames(pod), ["app"]);
      assert.equal(pod.metadata.annotations?.["mesh-tailor.io/applied"], "none");
      assert.deepEqual(meshTailorKeys(pod.metadata.annotations).sort(), [
        "mesh-tailor.io/applied",
        "mesh-tailor.io/policy-revision",
        "mesh-tailor.io/tailoring",
      ]);
      assert.equal(pod.metadata.labels?.["branch"], undefined, "the injection decision alone: no other customization");

      // The pod Istio injected before the rollback is stale for its proxy; the new one is current.
      const { code, report } = await status();
      assert.equal(code, 3);
      const row = report.workloads.find((w) => w.kind === "Pod")!;
      assert.deepEqual([row.pods, row.withProxy, row.stale, row.bypassed], [2, 1, 1, 1]);
      assert.equal(row.staleReason, "a proxy, but the policy leaves it out");
    } finally {
      await cluster.servePolicy(ENABLED);
    }
  });
});
