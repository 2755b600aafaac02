import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { appPod, classicInjected, migratingPolicy, nativeInjected } from "../../test/fixtures/pods.js";
import { runMutation } from "../../test/fixtures/context.js";
import { MAX_PROXY_CONFIG_CHARS } from "../pod/proxy-config.js";
import { holdUntilProxyStarts, MERGE_MEMO_CHARS, mergeHoldIntoProxyConfig, mergeMemoSize } from "./hold-until-proxy-starts.js";
import * as istio from "../keys/istio.js";

const policy = migratingPolicy();
const config = (r: ReturnType<typeof runMutation>) => r.pod.metadata?.annotations?.[istio.PROXY_CONFIG];

describe("hold-until-proxy-starts: start-up ordering", () => {
  it("adds holdApplicationUntilProxyStarts to a pod with no ProxyConfig annotation", () => {
    const result = runMutation(holdUntilProxyStarts, appPod(), policy);
    assert.deepEqual(parse(config(result)!), { holdApplicationUntilProxyStarts: true });
    assert.equal(result.inForce, true);
  });

  it("merges into YAML, keeping every other field and the comments", () => {
    const merged = mergeHoldIntoProxyConfig("# tuned for reviews\nconcurrency: 4\nterminationDrainDuration: 20s\n");
    assert.equal(merged.kind, "merged");
    const text = (merged as { text: string }).text;
    assert.match(text, /# tuned for reviews/);
    assert.deepEqual(parse(text), { concurrency: 4, terminationDrainDuration: "20s", holdApplicationUntilProxyStarts: true });
  });

  it("merges into JSON and keeps it JSON", () => {
    const merged = mergeHoldIntoProxyConfig('{"concurrency": 2, "proxyMetadata": {"A": "b"}}');
    assert.deepEqual(JSON.parse((merged as { text: string }).text), { concurrency: 2, proxyMetadata: { A: "b" }, holdApplicationUntilProxyStarts: true });
  });

  it("answers a value it has seen from memory, exactly as a first parse does, and stays bounded", () => {
    const value = "concurrency: 3\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: \"true\"\n";
    const first = mergeHoldIntoProxyConfig(value);
    const again = mergeHoldIntoProxyConfig(value);
    assert.equal(again, first);
    assert.deepEqual(parse((again as { text: string }).text), { concurrency: 3, proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" }, holdApplicationUntilProxyStarts: true });
    for (let i = 0; i < 3000; i++) assert.equal(mergeHoldIntoProxyConfig(`concurrency: ${i}\n`).kind, "merged");
    assert.deepEqual(mergeHoldIntoProxyConfig(value), first);
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

  it("finds a duplicate key among thousands in one pass, and refuses it as Istio would", () => {
    const keys = Array.from({ length: 1500 }, (_, i) => `k${i}: v`);
    assert.equal(mergeHoldIntoProxyConfig(keys.join("\n")).kind, "merged");
    const merge = mergeHoldIntoProxyConfig([...keys, "k7: again"].join("\n"));
    assert.deepEqual(merge, { kind: "unreadable", reason: 'the key "k7" appears twice' });
    assert.equal(mergeHoldIntoProxyConfig("proxyMetadata:\n  A: x\n  A: y\n").kind, "unreadable", "nested maps too");
  });

  it("refuses an alias bomb rather than expanding it", () => {
    const laughs = ["a: &a [x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n");
    assert.equal(mergeHoldIntoProxyConfig(`{"concurrency": 2}`).kind, "merged");
    assert.equal(mergeHoldIntoProxyConfig(laughs).kind, "unreadable");
  });

  it("bounds the characters its memory holds, whatever the stream of distinct values", () => {
    for (let i = 0; i < 400; i++) {
      mergeHoldIntoProxyConfig(`k${i}: ${"x".repeat(MAX_PROXY_CONFIG_CHARS - 20)}`);
      assert.ok(mergeMemoSize().chars <= MERGE_MEMO_CHARS, `held ${mergeMemoSize().chars} characters`);
    }
  });
});
