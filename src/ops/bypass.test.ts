import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appPod, classicInjected, migratingPolicy, nativeInjected } from "../../test/fixtures/pods.js";
import { runPipeline } from "../mutations/pipeline.js";
import type { KubeObject } from "../kube/object.js";
import type { Pod } from "../pod/types.js";
import { bypassOf } from "./bypass.js";

const stored = (pod: Pod) => ({ ...pod, metadata: { ...pod.metadata, name: "p", namespace: "shop" } }) as unknown as KubeObject;

describe("a pod that bypassed tailoring", () => {
  it("runs Istio's proxy, classic or native, with no tailoring record: skip-labelled, or admitted without mesh-tailor", () => {
    const skipping = appPod({ labels: { "mesh-tailor.io/skip": "true" } });
    assert.deepEqual(bypassOf(stored(classicInjected(skipping))), { kind: "skip-label", text: 'labelled mesh-tailor.io/skip: "true"' });
    assert.equal(bypassOf(stored(nativeInjected(skipping)))?.kind, "skip-label");
    assert.deepEqual(bypassOf(stored(classicInjected(appPod()))), { kind: "untailored", text: "admitted without mesh-tailor" });
    assert.equal(bypassOf(stored(classicInjected(appPod({ labels: { "mesh-tailor.io/skip": "false" } }))))?.kind, "untailored", 'only "true" skips');
  });

  it("is none without a proxy, or once mesh-tailor tailored it", () => {
    assert.equal(bypassOf(stored(appPod({ labels: { "mesh-tailor.io/skip": "true" } }))), undefined);
    const policy = migratingPolicy();
    const tailored = runPipeline({ pod: classicInjected(runPipeline({ pod: appPod(), namespace: "shop" }, policy).pod), namespace: "shop" }, policy).pod;
    assert.equal(bypassOf(stored(tailored)), undefined);
    assert.equal(bypassOf({ metadata: { name: "no-spec", namespace: "shop" } }), undefined);
  });
});
