import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appPod, classicInjected, migratingPolicy, nativeInjected, policyWith } from "../../test/fixtures/pods.js";
import { runMutation } from "../../test/fixtures/context.js";
import { runPipeline } from "./pipeline.js";
import { selectInjection } from "./select-injection.js";

const labels = (r: ReturnType<typeof runMutation>) => r.pod.metadata?.labels ?? {};

describe("select-injection: per-service migration and rollback", () => {
  it("labels a listed service for injection", () => {
    const result = runMutation(selectInjection, appPod(), migratingPolicy());
    assert.equal(labels(result)["sidecar.istio.io/inject"], "true");
    assert.equal(result.inForce, true);
    assert.deepEqual(result.warnings, []);
  });

  it('labels an unlisted service "false", so a namespace-wide label cannot sweep it in', () => {
    const result = runMutation(selectInjection, appPod({ name: "ratings" }), migratingPolicy());
    assert.equal(labels(result)["sidecar.istio.io/inject"], "false");
    assert.equal(result.inForce, false);
  });

  it("follows defaults.inject for unlisted services", () => {
    const result = runMutation(selectInjection, appPod({ name: "ratings" }), policyWith({ defaults: { inject: true } }));
    assert.equal(labels(result)["sidecar.istio.io/inject"], "true");
  });

  it("finds the service from the owning Deployment when no service label is present", () => {
    const pod = appPod();
    delete pod.metadata!.labels!["app"];
    assert.equal(labels(runMutation(selectInjection, pod, migratingPolicy()))["sidecar.istio.io/inject"], "true");
  });

  it("matches an entry by the workload's name when the service label names something else (a Helm chart's name)", () => {
    // Release "reviews" of chart "demo": app.kubernetes.io/name is the chart's name on every pod.
    const pod = appPod({ labels: { "app.kubernetes.io/name": "demo" } });
    const result = runMutation(selectInjection, pod, migratingPolicy());
    assert.equal(labels(result)["sidecar.istio.io/inject"], "true");
    const decided = runPipeline({ pod, namespace: "shop" }, migratingPolicy()).decision!;
    assert.equal(decided.matchedBy, `its Deployment's name "reviews"`);
    assert.match(decided.reason, /a services entry matches its Deployment's name "reviews"/);
    assert.equal(runPipeline({ pod: appPod(), namespace: "shop" }, migratingPolicy()).decision!.matchedBy, `its service name "reviews"`);
  });

  it("lets a per-service entry with inject: false take a service out", () => {
    const policy = policyWith({ defaults: { inject: true }, services: [{ name: "reviews", inject: false }] });
    assert.equal(labels(runMutation(selectInjection, appPod(), policy))["sidecar.istio.io/inject"], "false");
  });

  it("rolls every service back when mesh.enabled is false, overriding the user with a warning", () => {
    const policy = migratingPolicy({ mesh: { enabled: false } });
    const plain = runMutation(selectInjection, appPod(), policy);
    assert.equal(labels(plain)["sidecar.istio.io/inject"], "false");
    assert.deepEqual(plain.warnings, []);
    const userTrue = runMutation(selectInjection, appPod({ labels: { "sidecar.istio.io/inject": "true" } }), policy);
    assert.equal(labels(userTrue)["sidecar.istio.io/inject"], "false");
    assert.match(userTrue.warnings[0]!, /rollback/);
  });

  it("keeps the user's label when it disagrees with the policy, and warns", () => {
    const result = runMutation(selectInjection, appPod({ labels: { "sidecar.istio.io/inject": "false" } }), migratingPolicy());
    assert.equal(labels(result)["sidecar.istio.io/inject"], "false");
    assert.match(result.warnings[0]!, /wins over the policy/);
  });

  it("honours the older annotation form as the user's choice", () => {
    const result = runMutation(selectInjection, appPod({ annotations: { "sidecar.istio.io/inject": "true" } }), migratingPolicy({}, []));
    assert.equal(labels(result)["sidecar.istio.io/inject"], "true");
    assert.equal(result.warnings.length, 1);
  });

  it("never selects a hostNetwork pod, and warns when the policy named it", () => {
    const pod = appPod();
    pod.spec.hostNetwork = true;
    const result = runMutation(selectInjection, pod, migratingPolicy());
    assert.equal(labels(result)["sidecar.istio.io/inject"], "false");
    assert.match(result.warnings[0]!, /hostNetwork/);
    assert.deepEqual(runMutation(selectInjection, pod, migratingPolicy({}, [])).warnings, []);
  });

  it("adds istio.io/rev for an entry with a revision, and keeps a user's revision with a warning", () => {
    const policy = policyWith({ services: [{ name: "reviews", revision: "canary" }] });
    assert.equal(labels(runMutation(selectInjection, appPod(), policy))["istio.io/rev"], "canary");
    const user = runMutation(selectInjection, appPod({ labels: { "istio.io/rev": "stable" } }), policy);
    assert.equal(labels(user)["istio.io/rev"], "stable");
    assert.deepEqual(user.warnings, ['mesh-tailor: kept istio.io/rev="stable" as set on the pod; the policy says "canary"']);
  });

  it("gives the same answer after Istio injected the pod (reinvocation), classic and native", () => {
    const policy = migratingPolicy();
    const first = runMutation(selectInjection, appPod(), policy).pod;
    for (const injected of [classicInjected(first), nativeInjected(first)]) {
      const again = runMutation(selectInjection, injected, policy);
      assert.equal(again.pod, injected, "nothing changes on reinvocation");
      assert.deepEqual(again.warnings, []);
    }
  });
});
