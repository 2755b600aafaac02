import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseTarget } from "./explain-target.js";

describe("explain's target", () => {
  it("takes a bare name (a pod, else the workload of that name), KIND/NAME and kubectl's short names", () => {
    assert.deepEqual(parseTarget("reviews-7d4b9-x2"), { kind: "pod", name: "reviews-7d4b9-x2", bare: true });
    assert.deepEqual(parseTarget("deployment/reviews"), { kind: "deployment", name: "reviews" });
    assert.deepEqual(parseTarget("deploy/reviews"), { kind: "deployment", name: "reviews" });
    assert.deepEqual(parseTarget("Deployment/reviews"), { kind: "deployment", name: "reviews" });
    assert.deepEqual(parseTarget("sts/db"), { kind: "statefulset", name: "db" });
    assert.deepEqual(parseTarget("cj/nightly"), { kind: "cronjob", name: "nightly" });
  });

  it("refuses a kind it cannot explain, or no name", () => {
    assert.equal(parseTarget("service/reviews"), undefined);
    assert.equal(parseTarget("deployment/"), undefined);
    assert.equal(parseTarget(""), undefined);
  });
});
