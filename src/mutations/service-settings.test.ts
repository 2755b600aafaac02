import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runMutation } from "../../test/fixtures/context.js";
import { appPod, policyWith } from "../../test/fixtures/pods.js";
import { serviceSettings } from "./service-settings.js";

const policy = policyWith({
  services: [
    {
      name: "reviews",
      labels: { "sidecar.istio.io/interceptionMode": "TPROXY" },
      annotations: { "traffic.sidecar.istio.io/excludeInboundPorts": "9090", "sidecar.istio.io/logLevel": "debug" },
    },
    { name: "ratings", inject: false, annotations: { "sidecar.istio.io/logLevel": "debug" } },
  ],
});

describe("settings: any Istio pod setting per service", () => {
  it("sets the entry's labels and annotations on the service's selected pods", () => {
    const result = runMutation(serviceSettings, appPod(), policy);
    assert.equal(result.pod.metadata?.labels?.["sidecar.istio.io/interceptionMode"], "TPROXY");
    assert.equal(result.pod.metadata?.annotations?.["traffic.sidecar.istio.io/excludeInboundPorts"], "9090");
    assert.equal(result.pod.metadata?.annotations?.["sidecar.istio.io/logLevel"], "debug");
    assert.deepEqual([result.inForce, result.warnings], [true, []]);
  });

  it("keeps the user's own value, with a warning", () => {
    const result = runMutation(serviceSettings, appPod({ annotations: { "sidecar.istio.io/logLevel": "warning" } }), policy);
    assert.equal(result.pod.metadata?.annotations?.["sidecar.istio.io/logLevel"], "warning");
    assert.deepEqual(result.warnings, ['mesh-tailor: kept sidecar.istio.io/logLevel="warning" as set on the pod; the policy says "debug"']);
  });

  it("touches no pod that is not going into the mesh", () => {
    const pod = appPod({ name: "ratings" });
    assert.equal(runMutation(serviceSettings, pod, policy).pod, pod);
  });
});
