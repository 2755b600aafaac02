import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { runMutation } from "../../test/fixtures/context.js";
import { appPod, classicInjected, migratingPolicy, nativeInjected } from "../../test/fixtures/pods.js";
import * as istio from "../keys/istio.js";
import { MAX_PROXY_CONFIG_CHARS } from "../pod/proxy-config.js";
import { holdUntilProxyStarts } from "./hold-until-proxy-starts.js";

const policy = migratingPolicy();
const config = (r: ReturnType<typeof runMutation>) => r.pod.metadata?.annotations?.[istio.PROXY_CONFIG];

describe("hold-until-proxy-starts: start-up ordering", () => {
  it("adds holdApplicationUntilProxyStarts to a pod with no ProxyConfig annotation", () => {
    const result = runMutation(holdUntilProxyStarts, appPod(), policy);
    assert.deepEqual(parse(config(result)!), { holdApplicationUntilProxyStarts: true });
    assert.equal(result.inForce, true);
  });
  it("leaves an unparseable annotation as written and warns", () => {
    const pod = appPod({ annotations: { [istio.PROXY_CONFIG]: "concurrency: [2" } });
    const result = runMutation(holdUntilProxyStarts, pod, policy);
    assert.equal(config(result), "concurrency: [2");
    assert.match(result.warnings[0]!, /left proxy.istio.io\/config as written/);
    assert.equal(result.inForce, false);
  });
  it("respects a user's explicit holdApplicationUntilProxyStarts: false, even after classic injection", () => {
    const pod = classicInjected(appPod({ annotations: { [istio.PROXY_CONFIG]: "holdApplicationUntilProxyStarts: false\n" } }));
    const result = runMutation(holdUntilProxyStarts, pod, policy);
    assert.equal(result.pod, pod);
    assert.equal(result.inForce, false);
  });
  it("after classic injection, moves istio-proxy first and gates it with pilot-agent wait", () => {
    const injected = classicInjected(runMutation(holdUntilProxyStarts, appPod(), policy).pod);
    const result = runMutation(holdUntilProxyStarts, injected, policy);
    const names = result.pod.spec.containers.map((c) => c.name);
    assert.deepEqual(names, ["istio-proxy", "app"]);
    assert.deepEqual(result.pod.spec.containers[0]!.lifecycle?.postStart, { exec: { command: ["pilot-agent", "wait"] } });
    assert.deepEqual(result.pod.spec.containers[0]!.readinessProbe, injected.spec.containers[1]!["readinessProbe"], "keeps Istio's fields");
    assert.deepEqual(result.warnings, []);
  });
  it("leaves a classic pod Istio already held exactly as it is", () => {
    const first = runMutation(holdUntilProxyStarts, appPod(), policy).pod;
    const held = classicInjected(first, { proxyFirst: true });
    held.spec.containers[0]!.lifecycle = { postStart: { exec: { command: ["pilot-agent", "wait"] } } };
    assert.equal(runMutation(holdUntilProxyStarts, held, policy).pod, held);
  });
  it("adds nothing to a native sidecar, whose startup probe already gates the app", () => {
    const first = runMutation(holdUntilProxyStarts, appPod(), policy).pod;
    const native = nativeInjected(first);
    const result = runMutation(holdUntilProxyStarts, native, policy);
    assert.equal(result.pod, native);
    assert.equal(result.inForce, true);
  });
  it("does nothing when the policy turns it off or the pod is not selected", () => {
    const pod = appPod();
    assert.equal(runMutation(holdUntilProxyStarts, pod, migratingPolicy({ startup: { holdApplicationUntilProxyStarts: false } })).pod, pod);
    assert.equal(runMutation(holdUntilProxyStarts, pod, migratingPolicy({}, [])).pod, pod);
  });
  it("leaves an annotation over the size it parses as written, without parsing it (26,001 keys once froze a replica)", () => {
    const huge = Array.from({ length: 26_001 }, (_, i) => `k${i}: v`).join("\n");
    const result = runMutation(holdUntilProxyStarts, appPod({ annotations: { [istio.PROXY_CONFIG]: huge } }), policy);
    assert.equal(config(result), huge);
    assert.match(result.warnings[0]!, new RegExp(`over the ${MAX_PROXY_CONFIG_CHARS} mesh-tailor reads`));
  });
});
