import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { runMutation } from "../../test/fixtures/context.js";
import { appPod, policyWith } from "../../test/fixtures/pods.js";
import { serviceProxyConfig } from "./service-proxy-config.js";

const policy = policyWith({ services: [{ name: "reviews", proxyConfig: { terminationDrainDuration: "20s", concurrency: 2 } }] });
const configOf = (result: ReturnType<typeof runMutation>) => parse(result.pod.metadata!.annotations!["proxy.istio.io/config"]!) as Record<string, unknown>;

describe("proxy-config: ProxyConfig fields per service", () => {
  it("merges the entry's fields into proxy.istio.io/config", () => {
    const result = runMutation(serviceProxyConfig, appPod(), policy);
    assert.deepEqual(configOf(result), { terminationDrainDuration: "20s", concurrency: 2 });
    assert.equal(result.inForce, true);
  });

  it("keeps the user's other fields and comments, and their own value of a field, with a warning", () => {
    const pod = appPod({ annotations: { "proxy.istio.io/config": "# tuned\nconcurrency: 4\nholdApplicationUntilProxyStarts: true\n" } });
    const result = runMutation(serviceProxyConfig, pod, policy);
    assert.deepEqual(configOf(result), { concurrency: 4, holdApplicationUntilProxyStarts: true, terminationDrainDuration: "20s" });
    assert.match(result.pod.metadata!.annotations!["proxy.istio.io/config"]!, /# tuned/);
    assert.deepEqual(result.warnings, ["mesh-tailor: kept concurrency: 4 in proxy.istio.io/config as set on the pod; the policy says 2"]);
  });

  it("leaves an unreadable annotation as written, and says the service's proxyConfig is not applied", () => {
    const pod = appPod({ annotations: { "proxy.istio.io/config": "[broken" } });
    const result = runMutation(serviceProxyConfig, pod, policy);
    assert.equal(result.pod, pod);
    assert.match(result.warnings[0]!, /not applied/);
  });

  it("merges a map field (proxyMetadata) key by key: the pod's other keys stay, and its own value for a key wins, with a warning", () => {
    const metadata = policyWith({ services: [{ name: "reviews", proxyConfig: { proxyMetadata: { A: "y", B: "z" } } }] });
    const pod = appPod({ annotations: { "proxy.istio.io/config": "proxyMetadata:\n  A: x\n  C: w\n" } });
    const result = runMutation(serviceProxyConfig, pod, metadata);
    assert.deepEqual(configOf(result), { proxyMetadata: { A: "x", C: "w", B: "z" } });
    assert.deepEqual(result.warnings, ['mesh-tailor: kept proxyMetadata.A: "x" in proxy.istio.io/config as set on the pod; the policy says "y"']);
    assert.equal(result.inForce, true, "one of its two values is in force");
  });
});
