import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkAnswer, checkIdempotent } from "../fuzz/lib/invariants.js";

const base64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64");
const review = (response: unknown): string => JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response });

// The fuzzer's checks report whatever the server sends as failures; none may throw and end the run.
describe("the fuzzer's invariants", () => {
  it("a second answer that is not JSON, or whose patch is not a JSON Patch, is a failure, not a crash", () => {
    assert.match(checkIdempotent({ status: 200, body: "<html>" }).join(), /not JSON/);
    assert.match(checkIdempotent({ status: 200, body: review({ allowed: true, patch: 42 }) }).join(), /not base64 JSON/);
    assert.match(checkIdempotent({ status: 200, body: review({ allowed: true, patch: base64({ op: "add" }) }) }).join(), /not a JSON Patch array/);
    assert.match(checkIdempotent({ status: 500, body: "" }).join(), /got 500/);
  });

  it("a second answer with no patch or an empty one passes; one that changes more fails", () => {
    assert.deepEqual(checkIdempotent({ status: 200, body: review({ allowed: true }) }), []);
    assert.deepEqual(checkIdempotent({ status: 200, body: review({ allowed: true, patch: base64([]) }) }), []);
    assert.match(
      checkIdempotent({ status: 200, body: review({ allowed: true, patch: base64([{ op: "add", path: "/a", value: 1 }]) }) }).join(),
      /twice changes more/,
    );
  });

  it("an answer with no response, or a denial, is a failure for a well-formed review", () => {
    assert.match(checkAnswer({ status: 200, body: "{}" }, { uid: "u", object: {} }).problems.join(), /denied/);
    assert.match(checkAnswer({ status: 200, body: "null" }, undefined).problems.join(), /not an allowed AdmissionReview/);
    assert.deepEqual(checkAnswer({ status: 200, body: review({ uid: "u", allowed: true }) }, { uid: "u", object: {} }).problems, []);
  });
});
