import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rolloutProgress } from "./rollout-progress.js";

const workload = (generation: number, spec: Record<string, unknown>, status: Record<string, unknown>) => ({
  metadata: { name: "w", generation },
  spec,
  status,
});

describe("when a restart has rolled out, as kubectl rollout status judges it", () => {
  it("waits for the Deployment controller to see the new generation", () => {
    assert.equal(
      rolloutProgress("Deployment", workload(3, { replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })).state,
      "progressing",
    );
  });

  it("follows a Deployment through updated, old replicas gone and available", () => {
    const at = (status: Record<string, unknown>) => rolloutProgress("Deployment", workload(2, { replicas: 2 }, { observedGeneration: 2, ...status }));
    assert.deepEqual(at({ replicas: 3, updatedReplicas: 1, availableReplicas: 2 }), { state: "progressing", message: "1 of 2 new replicas updated" });
    assert.deepEqual(at({ replicas: 3, updatedReplicas: 2, availableReplicas: 2 }), { state: "progressing", message: "1 old replicas pending termination" });
    assert.deepEqual(at({ replicas: 2, updatedReplicas: 2, availableReplicas: 1 }), { state: "progressing", message: "1 of 2 updated replicas available" });
    assert.deepEqual(at({ replicas: 2, updatedReplicas: 2, availableReplicas: 2 }), { state: "done", message: "2 replicas updated and available" });
  });

  it("fails a Deployment past its progress deadline", () => {
    const stuck = workload(
      2,
      { replicas: 1 },
      {
        observedGeneration: 2,
        conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "b-1" has timed out progressing.' }],
      },
    );
    assert.deepEqual(rolloutProgress("Deployment", stuck), {
      state: "failed",
      message: 'progress deadline exceeded: ReplicaSet "b-1" has timed out progressing.',
    });
  });

  it("finishes a StatefulSet when every replica is ready at the update revision, or past a partition", () => {
    const sts = (status: Record<string, unknown>, spec: Record<string, unknown> = {}) =>
      rolloutProgress("StatefulSet", workload(1, { replicas: 3, ...spec }, { observedGeneration: 1, ...status }));
    assert.equal(sts({ readyReplicas: 3, updatedReplicas: 1, currentRevision: "a", updateRevision: "b" }).state, "progressing");
    assert.equal(sts({ readyReplicas: 3, updatedReplicas: 3, currentRevision: "b", updateRevision: "b" }).state, "done");
    assert.equal(sts({ readyReplicas: 3, updatedReplicas: 1 }, { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } } }).state, "done");
    assert.equal(sts({ readyReplicas: 1 }, { updateStrategy: { type: "OnDelete" } }).state, "done");
  });

  it("finishes a DaemonSet when every node runs an updated, available pod", () => {
    const ds = (status: Record<string, unknown>) =>
      rolloutProgress("DaemonSet", workload(1, {}, { observedGeneration: 1, desiredNumberScheduled: 3, ...status }));
    assert.equal(ds({ updatedNumberScheduled: 2, numberAvailable: 3 }).state, "progressing");
    assert.equal(ds({ updatedNumberScheduled: 3, numberAvailable: 2 }).state, "progressing");
    assert.equal(ds({ updatedNumberScheduled: 3, numberAvailable: 3 }).state, "done");
  });
});
