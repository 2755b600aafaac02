import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fastJsonPatch from "fast-json-patch";
import { decodePatch, podCreateReview } from "../../test/fixtures/reviews.js";
import { appPod, migratingPolicy } from "../../test/fixtures/pods.js";
import type { AdmissionRequest } from "./types.js";
import { handleAdmission } from "./handler.js";

const policy = migratingPolicy();
const requestFor = (review: ReturnType<typeof podCreateReview>): AdmissionRequest => review.request;

describe("handleAdmission", () => {
  it("answers a Pod CREATE with a base64 JSONPatch that echoes the uid", () => {
    const handled = handleAdmission(requestFor(podCreateReview(appPod(), { uid: "abc-123" })), policy);
    assert.equal(handled.response.uid, "abc-123");
    assert.equal(handled.response.allowed, true);
    assert.equal(handled.response.patchType, "JSONPatch");
    assert.equal(handled.outcome, "mutated");
    assert.ok(decodePatch(handled.response.patch).some((op) => op.path === "/metadata/labels/sidecar.istio.io~1inject"));
  });

  it("escapes / and ~ in keys and never drops fields it does not model", () => {
    const pod = appPod({ labels: { "a~b/c": "1" }, annotations: { "x/y~z": "2" } });
    (pod.spec as Record<string, unknown>)["futureField"] = { nested: [1, 2, 3] };
    (pod as Record<string, unknown>)["status"] = { phase: "Pending" };
    const request = requestFor(podCreateReview(pod));
    const handled = handleAdmission(request, policy);
    const operations = decodePatch(handled.response.patch);
    assert.ok(
      operations.every((op) => op.op === "add" || op.op === "replace"),
      "only adds and replaces",
    );
    const result = fastJsonPatch.applyPatch(structuredClone(pod), operations as fastJsonPatch.Operation[], true, false).newDocument;
    assert.deepEqual(result.spec["futureField"], { nested: [1, 2, 3] });
    assert.equal(result.metadata!.labels!["a~b/c"], "1");
    assert.equal(result.metadata!.annotations!["x/y~z"], "2");
    assert.equal(result.metadata!.labels!["sidecar.istio.io/inject"], "true");
  });

  it("answers UPDATE, DELETE and CONNECT with no patch", () => {
    for (const operation of ["UPDATE", "DELETE", "CONNECT"]) {
      const handled = handleAdmission(requestFor(podCreateReview(appPod(), { operation })), policy);
      assert.deepEqual(handled.response, { uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
    }
  });

  it("answers other kinds and pod subresources with no patch", () => {
    const request = requestFor(podCreateReview(appPod()));
    assert.equal(handleAdmission({ ...request, kind: { group: "apps", version: "v1", kind: "Deployment" } }, policy).response.patch, undefined);
    assert.equal(handleAdmission({ ...request, subResource: "binding" }, policy).response.patch, undefined);
  });

  it("answers a dryRun request exactly like any other", () => {
    const real = handleAdmission(requestFor(podCreateReview(appPod())), policy);
    const dry = handleAdmission(requestFor(podCreateReview(appPod(), { dryRun: true })), policy);
    assert.deepEqual(dry.response, real.response);
  });

  it("admits an object that is not a pod unchanged, with a warning", () => {
    const handled = handleAdmission({ ...requestFor(podCreateReview(appPod())), object: { kind: "Pod", spec: {} } }, policy);
    assert.equal(handled.response.patch, undefined);
    assert.match(handled.response.warnings![0]!, /not a Pod/);
  });

  it("uses the request's namespace, since a new pod's metadata often has none", () => {
    const handled = handleAdmission(requestFor(podCreateReview(appPod(), { namespace: "shop--box-4" })), policy);
    assert.ok(decodePatch(handled.response.patch).some((op) => op.path === "/metadata/labels/branch" && op.value === "box-4"));
  });
});
