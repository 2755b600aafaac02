import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appPod, classicInjected, nativeInjected } from "../../test/fixtures/pods.js";
import { ISTIO_SIDECAR_INJECTOR, revisionTag } from "../../test/fixtures/istio-webhooks.js";
import { parseInjectorValues } from "../namespaces/revision-injection.js";
import { runPipeline } from "../mutations/pipeline.js";
import { loadPolicy, type CompiledPolicy } from "../policy/load.js";
import type { Pod } from "../pod/types.js";
import type { KubeObject } from "../kube/object.js";
import { judgePod } from "./pod-state.js";

const HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n";
const policy = (services: string) => loadPolicy(`${HEADER}services:\n${services}`);
const REVIEWS = "  - name: reviews\n";
const RATINGS = "  - name: ratings\n";

/** A pod as it is stored: admitted by mesh-tailor under POLICY, then injected by Istio when selected. */
function admitted(template: Pod, under: CompiledPolicy): KubeObject {
  const first = runPipeline({ pod: template, namespace: "shop" }, under).pod;
  const injected = first.metadata?.labels?.["sidecar.istio.io/inject"] === "true" ? classicInjected(first) : first;
  return {
    ...runPipeline({ pod: injected, namespace: "shop" }, under).pod,
    metadata: { name: "reviews-1", namespace: "shop", ...injected.metadata },
  } as unknown as KubeObject;
}

describe("whether a running pod is stale", () => {
  const template = appPod();
  const before = policy(REVIEWS);

  it("is current under the policy it was admitted under", () => {
    const judged = judgePod(admitted(template, before), template, true, before);
    assert.deepEqual([judged.stale, judged.hasProxy, judged.verdict.selected], [false, true, true]);
  });

  it("stays current when another service's entry changes", () => {
    const after = policy(`${REVIEWS}${RATINGS}`);
    assert.notEqual(after.revision, before.revision);
    assert.equal(judgePod(admitted(template, before), template, true, after).stale, false);
  });

  it("is stale when its own entry, or a section every pod shares, changes", () => {
    const ownEntry = policy("  - name: reviews\n    hostPassthrough: both\n");
    const judged = judgePod(admitted(template, before), template, true, ownEntry);
    assert.equal(judged.stale, true);
    assert.match(judged.reasons[0]!, /it would be tailored differently/);
    const shared = loadPolicy(`${HEADER}services:\n${REVIEWS}shutdown:\n  marginSeconds: 9\n`);
    assert.equal(judgePod(admitted(template, before), template, true, shared).stale, true);
  });

  it("is stale when the policy now leaves out a pod that has a proxy (a rollback)", () => {
    const rolledBack = loadPolicy(`${HEADER}mesh:\n  enabled: false\nservices:\n${REVIEWS}`);
    const judged = judgePod(admitted(template, before), template, true, rolledBack);
    assert.equal(judged.verdict.selected, false);
    assert.ok(judged.reasons.includes("a proxy, but the policy leaves it out"), judged.reasons.join("; "));
  });

  it('under the rollback, is not stale for the dataplane-mode "none" alone: a pod outside the mesh, from a template or bare, stays current', () => {
    // Admitted while reviews was out; the rollback now writes "none" on it (reviews would be in
    // the mesh), which is no tailoring.
    const outside = admitted(template, policy(RATINGS));
    const rolledBack = loadPolicy(`${HEADER}mesh:\n  enabled: false\nservices:\n  - name: reviews\n    dataplane: ambient\n`);
    const fromTemplate = judgePod(outside, template, true, rolledBack);
    assert.deepEqual(fromTemplate.reasons, []);
    const bare = judgePod(outside, undefined, true, rolledBack);
    assert.deepEqual(bare.reasons, []);
    // A pod in ambient is stale under it: its record held "ambient".
    const inAmbient = admitted(template, loadPolicy(`${HEADER}services:\n  - name: reviews\n    dataplane: ambient\n`));
    assert.match(judgePod(inAmbient, template, true, rolledBack).reasons.join(), /tailored differently/);
  });

  it('never judges a pod labelled mesh-tailor.io/skip: "true" while the mesh is enabled; under the rollback, only its proxy', () => {
    const rolledBack = loadPolicy(`${HEADER}mesh:\n  enabled: false\nservices:\n${REVIEWS}`);
    const skipping = appPod({ labels: { "mesh-tailor.io/skip": "true", "sidecar.istio.io/inject": "true" } });
    const injected = admitted(skipping, before);
    assert.equal(injected.metadata.annotations?.["mesh-tailor.io/tailoring"], undefined, "untouched by mesh-tailor");
    const enabled = judgePod(injected, skipping, true, before);
    assert.deepEqual([enabled.hasProxy, enabled.verdict.selected, enabled.stale], [true, undefined, false]);
    assert.deepEqual(judgePod(injected, skipping, true, rolledBack).reasons, ["a proxy, but the policy leaves it out"]);
    const noProxy = appPod({ labels: { "mesh-tailor.io/skip": "true" } });
    assert.equal(judgePod(admitted(noProxy, before), noProxy, true, rolledBack).stale, false, "nothing for the rollback to take out");
    // A template no longer labelled: its pods are judged as any other.
    assert.deepEqual(judgePod(admitted(noProxy, before), template, true, rolledBack).reasons, ["admitted without mesh-tailor"]);
  });

  it("is stale when it has no record of mesh-tailor, and never in a namespace mesh-tailor does not tailor", () => {
    const untouched = { ...template, metadata: { ...template.metadata, name: "reviews-1", namespace: "shop" } } as unknown as KubeObject;
    assert.deepEqual(judgePod(untouched, template, true, before).reasons, ["admitted without mesh-tailor", "no proxy, but the policy selects it"]);
    assert.equal(judgePod(untouched, template, false, before).stale, false);
  });
});

describe("whether a running proxy is the one Istio injects now", () => {
  const template = appPod();
  const under = policy(REVIEWS);
  const values = (tag: string, env: Record<string, unknown> = {}) => JSON.stringify({ global: { hub: "docker.io/istio", tag }, pilot: { env } });
  /** A pod admitted under UNDER and injected by REVISION with the fixture's proxy (docker.io/istio/proxyv2:1.27.0). */
  const injectedBy = (revision: string, pod: Pod = template): KubeObject => {
    const stored = admitted(pod, under);
    const status = JSON.stringify({ containers: ["istio-proxy"], revision });
    return { ...stored, metadata: { ...stored.metadata, annotations: { ...stored.metadata.annotations, "sidecar.istio.io/status": status } } };
  };
  const namespaces = (labels: Record<string, string> = {}) => new Map([["shop", { metadata: { name: "shop", labels } }]]);
  const kinds = (judged: ReturnType<typeof judgePod>) => judged.why.map((w) => [w.kind, w.text]);

  it("is stale for proxy-version when a tag it goes to has moved to another revision", () => {
    const injectors = {
      revisions: new Map([
        ["default", "default"],
        ["prod", "canary"],
      ]),
      configurations: [ISTIO_SIDECAR_INJECTOR, revisionTag("prod", "canary")],
      namespaces: namespaces({ "istio.io/rev": "prod" }),
    };
    assert.deepEqual(kinds(judgePod(injectedBy("default"), template, true, under, undefined, injectors)), [
      ["proxy-version", "injected by revision default; it goes to prod (revision canary) now"],
    ]);
    assert.deepEqual(kinds(judgePod(injectedBy("canary"), template, true, under, undefined, injectors)), []);
    // A service the policy pins to a revision: the tag it names, resolved.
    const pinned = policy("  - name: reviews\n    revision: prod\n");
    const stored = injectedBy("default", runPipeline({ pod: template, namespace: "shop" }, pinned).pod);
    assert.deepEqual(
      kinds(judgePod(stored, template, true, pinned, undefined, { ...injectors, namespaces: namespaces() })).filter(([kind]) => kind === "proxy-version"),
      [["proxy-version", "injected by revision default; the policy asks for prod (revision canary)"]],
    );
  });

  it("is stale for proxy-version when its revision now injects another image, and not for another type of the same build", () => {
    const injectors = (tag: string) => ({
      revisions: new Map([["default", "default"]]),
      configurations: [ISTIO_SIDECAR_INJECTOR],
      namespaces: namespaces({ "istio-injection": "enabled" }),
      injections: new Map([["default", parseInjectorValues("default", values(tag, { ENABLE_NATIVE_SIDECARS: false }))!]]),
    });
    assert.deepEqual(kinds(judgePod(injectedBy("default"), template, true, under, undefined, injectors("1.28.1"))), [
      ["proxy-version", "runs proxy docker.io/istio/proxyv2:1.27.0; revision default injects docker.io/istio/proxyv2:1.28.1 now"],
    ]);
    assert.deepEqual(kinds(judgePod(injectedBy("default"), template, true, under, undefined, injectors("1.27.0-distroless"))), []);
  });

  it("is stale for sidecar-mode when its revision now places the proxy otherwise, unless the pod says how", () => {
    const injectors = (env: Record<string, unknown>, kubelets?: string[]) => ({
      revisions: new Map([["default", "default"]]),
      configurations: [ISTIO_SIDECAR_INJECTOR],
      namespaces: namespaces({ "istio-injection": "enabled" }),
      injections: new Map([["default", parseInjectorValues("default", values("1.27.0", env))!]]),
      kubelets,
    });
    assert.deepEqual(kinds(judgePod(injectedBy("default"), template, true, under, undefined, injectors({ ENABLE_NATIVE_SIDECARS: "true" }))), [
      ["sidecar-mode", "a classic sidecar; revision default injects a native one now"],
    ]);
    assert.deepEqual(
      kinds(judgePod(injectedBy("default"), template, true, under, undefined, injectors({}, ["v1.33.0"]))).map(([k]) => k),
      ["sidecar-mode"],
    );
    assert.deepEqual(kinds(judgePod(injectedBy("default"), template, true, under, undefined, injectors({}, ["v1.33.0", "v1.31.4"]))), []);
    assert.deepEqual(kinds(judgePod(injectedBy("default"), template, true, under, undefined, injectors({}))), [], "auto, nodes unread: not judged");
    // A gateway's template places the proxy as a container whatever the revision says.
    const gateway = appPod({ annotations: { "inject.istio.io/templates": "gateway" } });
    assert.deepEqual(kinds(judgePod(injectedBy("default", gateway), gateway, true, under, undefined, injectors({ ENABLE_NATIVE_SIDECARS: "true" }))), []);
    // The pod's own annotation wins over the revision's setting.
    const classic = appPod({ annotations: { "sidecar.istio.io/nativeSidecar": "false" } });
    assert.deepEqual(kinds(judgePod(injectedBy("default", classic), classic, true, under, undefined, injectors({ ENABLE_NATIVE_SIDECARS: "true" }))), []);
    // And the reverse: a native sidecar where the revision now injects a classic one.
    const nativeSpec = nativeInjected(runPipeline({ pod: template, namespace: "shop" }, under).pod).spec;
    const native = { ...injectedBy("default"), spec: nativeSpec } as unknown as KubeObject;
    assert.deepEqual(kinds(judgePod(native, template, true, under, undefined, injectors({ ENABLE_NATIVE_SIDECARS: false }))), [
      ["sidecar-mode", "a native sidecar; revision default injects a classic one now"],
    ]);
  });
});
