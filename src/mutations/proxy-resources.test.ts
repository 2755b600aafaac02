import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appPod, migratingPolicy } from "../../test/fixtures/pods.js";
import { runMutation } from "../../test/fixtures/context.js";
import { proxyResources } from "./proxy-resources.js";

const annotations = (r: ReturnType<typeof runMutation>) => r.pod.metadata?.annotations ?? {};

describe("proxy-resources: Istio's sidecar resource annotations", () => {
  it("writes the policy defaults for a selected pod, skipping empty values", () => {
    const result = runMutation(proxyResources, appPod(), migratingPolicy({ defaults: { proxyResources: { cpu: "500m", memory: "300Mi", cpuLimit: "" } } }));
    assert.equal(annotations(result)["sidecar.istio.io/proxyCPU"], "500m");
    assert.equal(annotations(result)["sidecar.istio.io/proxyMemory"], "300Mi");
    assert.equal(annotations(result)["sidecar.istio.io/proxyCPULimit"], undefined);
    assert.equal(result.inForce, true);
  });

  it("lets a service entry's values win field by field over the defaults", () => {
    const policy = migratingPolicy({
      defaults: { proxyResources: { cpu: "500m", memory: "300Mi" } },
      services: [{ name: "reviews", proxyResources: { cpu: "1", memoryLimit: "1Gi" } }],
    });
    const a = annotations(runMutation(proxyResources, appPod(), policy));
    assert.deepEqual([a["sidecar.istio.io/proxyCPU"], a["sidecar.istio.io/proxyMemory"], a["sidecar.istio.io/proxyMemoryLimit"]], ["1", "300Mi", "1Gi"]);
  });

  it("never replaces an annotation the user set", () => {
    const pod = appPod({ annotations: { "sidecar.istio.io/proxyCPU": "2" } });
    const result = runMutation(proxyResources, pod, migratingPolicy({ defaults: { proxyResources: { cpu: "500m" } } }));
    assert.equal(annotations(result)["sidecar.istio.io/proxyCPU"], "2");
    assert.equal(result.inForce, false);
  });

  it("leaves unselected pods alone", () => {
    const pod = appPod({ name: "ratings" });
    assert.equal(runMutation(proxyResources, pod, migratingPolicy({ defaults: { proxyResources: { cpu: "500m" } } })).pod, pod);
  });
});
