import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeAdmissionReview } from "./decode.js";

describe("decodeAdmissionReview", () => {
  const request = { uid: "u1", operation: "CREATE" };
  it("accepts v1 and v1beta1 reviews", () => {
    for (const apiVersion of ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"]) {
      const decoded = decodeAdmissionReview({ apiVersion, kind: "AdmissionReview", request });
      assert.ok(decoded.ok);
      assert.equal(decoded.version, apiVersion);
    }
  });
  const bad: [string, unknown, RegExp][] = [
    ["a JSON array", [], /must be a JSON object/],
    ["null", null, /must be a JSON object/],
    ["another kind", { apiVersion: "admission.k8s.io/v1", kind: "Pod", request }, /kind must be "AdmissionReview"/],
    ["an unknown version", { apiVersion: "admission.k8s.io/v2", kind: "AdmissionReview", request }, /apiVersion must be one of/],
    ["no request", { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }, /no request object/],
    ["no uid", { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { operation: "CREATE" } }, /request.uid/],
  ];
  for (const [name, body, message] of bad) {
    it(`refuses ${name} with a message`, () => {
      const decoded = decodeAdmissionReview(body);
      assert.equal(decoded.ok, false);
      assert.match((decoded as { message: string }).message, message);
    });
  }
});
