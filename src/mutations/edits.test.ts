import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appPod } from "../../test/fixtures/pods.js";
import { setAllUnlessUserSet, setUnlessUserSet } from "./edits.js";

describe("edits: the user's value always wins", () => {
  it("sets a label or annotation the pod does not have, and it is in force", () => {
    const label = setUnlessUserSet(appPod(), "labels", "example.com/x", "a");
    assert.equal(label.pod.metadata?.labels?.["example.com/x"], "a");
    assert.deepEqual([label.inForce, label.warnings], [true, []]);
    const annotation = setUnlessUserSet(appPod(), "annotations", "example.com/y", "b");
    assert.equal(annotation.pod.metadata?.annotations?.["example.com/y"], "b");
  });

  it("keeps the pod's own value: in force when equal, a standard warning when not", () => {
    const pod = appPod({ labels: { "example.com/x": "mine" } });
    const same = setUnlessUserSet(pod, "labels", "example.com/x", "mine");
    assert.deepEqual([same.pod, same.inForce, same.warnings], [pod, true, []]);
    const other = setUnlessUserSet(pod, "labels", "example.com/x", "policy");
    assert.equal(other.pod, pod);
    assert.equal(other.inForce, false);
    assert.deepEqual(other.warnings, ['mesh-tailor: kept example.com/x="mine" as set on the pod; the policy says "policy"']);
    assert.match(setUnlessUserSet(pod, "labels", "example.com/x", "b", 'namespace "n" implies "b"').warnings[0]!, /; namespace "n" implies "b"$/);
    assert.deepEqual(setUnlessUserSet(pod, "labels", "example.com/x", "b", false).warnings, []);
  });

  it("sets several at once, in force when any is", () => {
    const pod = appPod({ annotations: { "example.com/a": "user" } });
    const result = setAllUnlessUserSet(pod, "annotations", { "example.com/a": "policy", "example.com/b": "policy" }, false);
    assert.deepEqual(
      [result.pod.metadata?.annotations?.["example.com/a"], result.pod.metadata?.annotations?.["example.com/b"], result.inForce],
      ["user", "policy", true],
    );
    assert.equal(setAllUnlessUserSet(pod, "annotations", {}).inForce, false);
  });
});
