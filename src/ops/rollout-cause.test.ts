import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stuckCause } from "./rollout-cause.js";

const object = (name: string, status: Record<string, unknown>) => ({ metadata: { name }, status });

describe("why a workload's pods are not coming up", () => {
  it("names the webhook that refused the pods, from the ReplicaSet's ReplicaFailure", () => {
    const rs = object("reviews-7d9", {
      conditions: [
        {
          type: "ReplicaFailure",
          status: "True",
          reason: "FailedCreate",
          message: 'Internal error occurred: failed calling webhook "pods.mesh-tailor.io": connection refused',
        },
      ],
    });
    assert.equal(
      stuckCause(object("reviews", {}), [rs], []),
      'pods cannot be created: FailedCreate: Internal error occurred: failed calling webhook "pods.mesh-tailor.io": connection refused',
    );
  });

  it("says when pods cannot be scheduled, and why", () => {
    const pod = object("reviews-7d9-x", {
      conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available: 3 Insufficient cpu." }],
    });
    assert.equal(
      stuckCause(object("reviews", {}), [], [pod, pod]),
      "2 pod(s) not scheduled: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu. (pod reviews-7d9-x)",
    );
  });

  it("names a container that waits, and says nothing when nothing is wrong yet", () => {
    const pod = object("reviews-1", {
      containerStatuses: [{ name: "app", state: { waiting: { reason: "ImagePullBackOff", message: "Back-off pulling image" } } }],
    });
    assert.equal(stuckCause(object("reviews", {}), [], [pod]), "pod reviews-1: container app waiting: ImagePullBackOff: Back-off pulling image");
    assert.equal(
      stuckCause(
        object("reviews", {}),
        [],
        [object("reviews-2", { containerStatuses: [{ name: "app", state: { waiting: { reason: "ContainerCreating" } } }] })],
      ),
      undefined,
    );
  });
});
