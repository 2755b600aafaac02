import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Pod } from "./types.js";
import { isServiceLess, workloadOf } from "./workload.js";

const owned = (kind: string, name: string, labels: Record<string, string> = {}, controller = true): Pod => ({
  metadata: { labels, ownerReferences: [{ kind, name, controller, apiVersion: "x", uid: "u" }] },
  spec: { containers: [] },
});

describe("workloadOf resolves the workload behind a pod's controller", () => {
  it("maps a ReplicaSet to its Deployment using pod-template-hash", () => {
    assert.deepEqual(workloadOf(owned("ReplicaSet", "reviews-v2-5f7b9c8d4", { "pod-template-hash": "5f7b9c8d4" })), { kind: "Deployment", name: "reviews-v2" });
  });
  it("maps a ReplicaSet without the hash label by its name suffix", () => {
    assert.deepEqual(workloadOf(owned("ReplicaSet", "ratings-6bd7f9c4c8")), { kind: "Deployment", name: "ratings" });
  });
  it("maps a CronJob's Job (name-<scheduled minutes>) to the CronJob", () => {
    assert.deepEqual(workloadOf(owned("Job", "nightly-report-29400000")), { kind: "CronJob", name: "nightly-report" });
  });
  it("keeps a Job whose numeric suffix is too short to be a CronJob run", () => {
    assert.deepEqual(workloadOf(owned("Job", "migrate-2")), { kind: "Job", name: "migrate-2" });
  });
  it("passes StatefulSet and DaemonSet names through", () => {
    assert.deepEqual(workloadOf(owned("StatefulSet", "db")), { kind: "StatefulSet", name: "db" });
    assert.deepEqual(workloadOf(owned("DaemonSet", "agent")), { kind: "DaemonSet", name: "agent" });
  });
  it("prefers the controller among several owners", () => {
    const pod: Pod = {
      metadata: {
        ownerReferences: [
          { kind: "ConfigMap", name: "x" },
          { kind: "StatefulSet", name: "db", controller: true },
        ],
      },
      spec: { containers: [] },
    };
    assert.deepEqual(workloadOf(pod), { kind: "StatefulSet", name: "db" });
  });
  it("returns undefined for a bare pod, which counts as Service-less", () => {
    const bare: Pod = { metadata: {}, spec: { containers: [] } };
    assert.equal(workloadOf(bare), undefined);
    assert.equal(isServiceLess(undefined), true);
    assert.equal(isServiceLess({ kind: "CronJob", name: "x" }), true);
    assert.equal(isServiceLess({ kind: "Deployment", name: "x" }), false);
  });
});
