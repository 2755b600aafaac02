import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runMutation } from "../../test/fixtures/context.js";
import { appPod, classicInjected, jobPod, migratingPolicy, nativeInjected } from "../../test/fixtures/pods.js";
import { pitfalls } from "./pitfalls.js";

const policy = migratingPolicy({}, ["reviews", "report"]);

describe("pitfalls: warnings, each with what to do, on selected pods", () => {
  it("warns that dnsPolicy: Default keeps calls by name out of the mesh", () => {
    const pod = appPod();
    pod.spec["dnsPolicy"] = "Default";
    const result = runMutation(pitfalls, pod, policy);
    assert.equal(result.pod, pod, "changes nothing");
    assert.match(result.warnings[0]!, /dnsPolicy: Default .* use ClusterFirst/);
    assert.equal(result.inForce, false);
  });

  it("warns that a Job with a classic sidecar never completes, and not when it is native", () => {
    const classic = runMutation(pitfalls, classicInjected(jobPod()), policy);
    assert.match(classic.warnings[0]!, /never completes; set jobs.nativeSidecar: true/);
    assert.deepEqual(runMutation(pitfalls, nativeInjected(jobPod()), policy).warnings, []);
    assert.deepEqual(runMutation(pitfalls, jobPod(), policy).warnings, [], "before injection the mode is Istio's to decide");
  });

  it("warns about an app port Istio's proxy takes, naming the container and the port's use", () => {
    const pod = appPod();
    pod.spec.containers[0]!["ports"] = [{ containerPort: 9080 }, { containerPort: 15001 }, { containerPort: 15090 }];
    const result = runMutation(pitfalls, pod, policy);
    assert.deepEqual(result.warnings, [
      'mesh-tailor: container "app" uses port 15001, which Istio\'s proxy takes for outbound traffic capture; move the app to another port',
      "mesh-tailor: container \"app\" uses port 15090, which Istio's proxy takes for Envoy's Prometheus telemetry; move the app to another port",
    ]);
  });

  it("says nothing about pods kept out of the mesh", () => {
    const pod = appPod({ name: "ratings" });
    pod.spec["dnsPolicy"] = "Default";
    assert.deepEqual(runMutation(pitfalls, pod, policy).warnings, []);
  });
});
