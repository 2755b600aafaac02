import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import fastJsonPatch from "fast-json-patch";
import { arbitraryPod, deepFreeze, namespaces } from "../../test/fixtures/arbitrary-pods.js";
import { appPod, classicInjected, jobPod, migratingPolicy, nativeInjected, policyWith } from "../../test/fixtures/pods.js";
import * as meshTailor from "../keys/mesh-tailor.js";
import { MUTATIONS, runPipeline } from "./pipeline.js";
import type { Mutation } from "./types.js";

const policy = migratingPolicy({ jobs: { nativeSidecar: true }, locality: { default: "r.z" } }, ["reviews", "report", "details"]);
const sleep30 = { preStop: { exec: { command: ["sleep", "30"] } } };

describe("the customization pipeline", () => {
  it("records what is in force in mesh-tailor.io/applied", () => {
    const result = runPipeline({ pod: appPod({ preStop: sleep30 }), namespace: "shop--box-9" }, policy);
    assert.equal(result.pod.metadata?.annotations?.[meshTailor.APPLIED], "inject,hold,branch");
    const after = runPipeline({ pod: classicInjected(result.pod), namespace: "shop--box-9" }, policy);
    assert.equal(after.pod.metadata?.annotations?.[meshTailor.APPLIED], "inject,hold,prestop,branch");
  });

  it("records the revision of the policy each pod is admitted under, and replaces a copied one with a warning", () => {
    const result = runPipeline({ pod: appPod(), namespace: "shop" }, policy);
    assert.equal(result.pod.metadata?.annotations?.[meshTailor.POLICY_REVISION], policy.revision);
    assert.ok(!result.warnings.some((w) => w.includes(meshTailor.POLICY_REVISION)));
    const copied = appPod({ annotations: { [meshTailor.POLICY_REVISION]: "0123456789ab" } });
    const readmitted = runPipeline({ pod: copied, namespace: "shop" }, policy);
    assert.equal(readmitted.pod.metadata?.annotations?.[meshTailor.POLICY_REVISION], policy.revision);
    assert.ok(
      readmitted.warnings.some((w) => w.includes(`${meshTailor.POLICY_REVISION} "0123456789ab" replaced with "${policy.revision}"`)),
      readmitted.warnings.join("\n"),
    );
    const again = runPipeline({ pod: readmitted.pod, namespace: "shop" }, policy);
    assert.ok(!again.warnings.some((w) => w.includes(meshTailor.POLICY_REVISION)), "a second pass under the same policy says nothing");
  });

  it('writes "none" when nothing is in force', () => {
    const result = runPipeline({ pod: appPod({ name: "ratings" }), namespace: "shop" }, policyWith({ sandbox: { enabled: false } }));
    assert.equal(result.pod.metadata?.annotations?.[meshTailor.APPLIED], "none");
  });

  it("never touches kube-system or mirror pods", () => {
    const pod = appPod();
    assert.equal(runPipeline({ pod, namespace: "kube-system" }, policy).pod, pod);
    const mirror = appPod({ annotations: { "kubernetes.io/config.mirror": "hash" } });
    const result = runPipeline({ pod: mirror, namespace: "shop" }, policy);
    assert.equal(result.pod, mirror);
    assert.equal(result.skipped, "mirror pod");
  });

  it('skips a pod labelled mesh-tailor.io/skip: "true" while the mesh is enabled, and only that value', () => {
    const skipping = appPod({ labels: { [meshTailor.SKIP]: "true", "sidecar.istio.io/inject": "true" } });
    const result = runPipeline({ pod: skipping, namespace: "shop" }, policy);
    assert.equal(result.pod, skipping, "no edit at all");
    assert.match(result.skipped!, /labelled mesh-tailor\.io\/skip: "true"/);
    assert.equal(result.decision, undefined);
    for (const value of ["false", "True", "yes", ""]) {
      const other = runPipeline({ pod: appPod({ labels: { [meshTailor.SKIP]: value } }), namespace: "shop" }, policy);
      assert.equal(other.skipped, undefined, `"${value}" does not skip`);
      assert.equal(other.pod.metadata?.annotations?.[meshTailor.APPLIED], "inject,hold,branch");
    }
  });

  it("does not skip a skip-labelled pod under the system-wide rollback: it gets the injection decision and the records, nothing else", () => {
    const rolledBack = migratingPolicy({ mesh: { enabled: false }, jobs: { nativeSidecar: true }, locality: { default: "r.z" } }, ["reviews"]);
    const skipping = appPod({ labels: { [meshTailor.SKIP]: "true", "sidecar.istio.io/inject": "true" }, preStop: sleep30 });
    const result = runPipeline({ pod: skipping, namespace: "shop--box-9" }, rolledBack);
    assert.equal(result.skipped, undefined);
    assert.equal(result.decision?.selected, false);
    assert.match(result.decision.reason, /mesh-tailor\.io\/skip="true" is not honoured while the rollback is on/);
    assert.deepEqual(result.warnings, [
      'mesh-tailor: mesh-wide rollback is on (mesh.enabled: false): sidecar.istio.io/inject="true" on service "reviews" overridden to "false"; mesh-tailor.io/skip="true" is not honoured while the rollback is on',
    ]);
    const { labels, annotations } = result.pod.metadata!;
    assert.deepEqual(labels, { ...skipping.metadata!.labels, "sidecar.istio.io/inject": "false" }, "no branch label, nothing but the decision");
    assert.deepEqual(Object.keys(annotations!).sort(), [meshTailor.APPLIED, meshTailor.POLICY_REVISION, meshTailor.TAILORING]);
    assert.equal(annotations![meshTailor.APPLIED], "none");
    assert.deepEqual(result.pod.spec, skipping.spec);
    assert.deepEqual(runPipeline({ pod: result.pod, namespace: "shop--box-9" }, rolledBack).pod, result.pod, "idempotent");
    // Without the user's "true", the warning says the label was not honoured.
    const quiet = runPipeline({ pod: appPod({ labels: { [meshTailor.SKIP]: "true" } }), namespace: "shop" }, rolledBack);
    assert.match(
      quiet.warnings.join("\n"),
      /mesh-tailor\.io\/skip="true" is not honoured while the rollback is on; service "reviews" gets sidecar\.istio\.io\/inject="false"/,
    );
    // The same pod without the label is rolled back alike, with everything else the policy asks for.
    const unlabelled = runPipeline({ pod: appPod({ preStop: sleep30 }), namespace: "shop--box-9" }, rolledBack);
    assert.equal(unlabelled.pod.metadata?.labels?.["branch"], "box-9");
    assert.doesNotMatch(unlabelled.decision!.reason, /skip/);
  });

  it("runs a customization only when its declarations hold, and never calls it otherwise", () => {
    const calls: string[] = [];
    const spy = (name: string, declared: Partial<Mutation>): Mutation => ({
      name,
      ...declared,
      apply: (pod) => (calls.push(name), { pod, warnings: [], inForce: true }),
    });
    const declared = [
      spy("always", {}),
      spy("selected", { selectedOnly: true }),
      spy("switched-off", { enabledBy: () => false }),
      spy("switched-on", { enabledBy: (p) => p.sandbox.enabled }),
    ];
    runPipeline({ pod: appPod({ name: "ratings" }), namespace: "shop" }, policy, declared);
    assert.deepEqual(calls, ["always", "switched-on"], "an unselected pod");
    calls.length = 0;
    const result = runPipeline({ pod: appPod(), namespace: "shop" }, policy, declared);
    // Twice for a pod going into the mesh: once as it comes, once as Istio's classic injection
    // would hand it back, so that the record covers what the second call will write.
    assert.deepEqual(calls, ["always", "selected", "switched-on", "always", "selected", "switched-on"], "a selected pod");
    assert.equal(result.pod.metadata?.annotations?.[meshTailor.APPLIED], "always,selected,switched-on");
  });

  it("skips a customization that throws, keeps the others, and says so", () => {
    const broken: Mutation = {
      name: "broken",
      apply() {
        throw new Error("boom");
      },
    };
    const result = runPipeline({ pod: appPod(), namespace: "shop" }, policy, [MUTATIONS[0]!, broken, ...MUTATIONS.slice(1)]);
    assert.equal(result.failures[0]?.mutation, "broken");
    assert.match(result.warnings.join("\n"), /"broken" customization failed and was skipped \(boom\)/);
    assert.equal(result.pod.metadata?.labels?.["sidecar.istio.io/inject"], "true");
    assert.equal(result.pod.metadata?.labels?.["branch"], "master");
  });

  it("brings a selected pod through the before, classic-after and native-after calls", () => {
    const before = runPipeline({ pod: appPod({ preStop: sleep30 }), namespace: "shop" }, policy).pod;
    const classic = runPipeline({ pod: classicInjected(before), namespace: "shop" }, policy).pod;
    assert.equal(classic.spec.containers[0]!.name, "istio-proxy");
    assert.deepEqual(classic.spec.containers[0]!.lifecycle, { postStart: { exec: { command: ["pilot-agent", "wait"] } }, preStop: { sleep: { seconds: 35 } } });
    assert.equal(classic.spec.terminationGracePeriodSeconds, 40);
    const native = runPipeline({ pod: nativeInjected(before), namespace: "shop" }, policy).pod;
    assert.equal(native.spec.containers[0]!.name, "app");
    assert.equal(native.spec.terminationGracePeriodSeconds, 40);
  });

  it("labels a CronJob's pod with locality and the native-sidecar opt-in", () => {
    const result = runPipeline({ pod: jobPod(), namespace: "batch" }, policy);
    assert.equal(result.pod.metadata?.labels?.["istio-locality"], "r.z");
    assert.equal(result.pod.metadata?.annotations?.["sidecar.istio.io/nativeSidecar"], "true");
    assert.deepEqual(result.workload, { kind: "CronJob", name: "report" });
  });

  it("is pure, idempotent, and its patch applies cleanly to the original, for any pod", () => {
    fc.assert(
      fc.property(arbitraryPod, namespaces, fc.boolean(), (generated, namespace, meshEnabled) => {
        const pod = deepFreeze(generated); // a write to the input would throw
        const chosen = meshEnabled ? policy : migratingPolicy({ mesh: { enabled: false } }, ["reviews"]);
        const once = runPipeline({ pod, namespace }, chosen);
        const twice = runPipeline({ pod: once.pod, namespace }, chosen);
        assert.deepEqual(twice.pod, once.pod);
        const patch = fastJsonPatch.compare(pod, once.pod);
        const patched = fastJsonPatch.applyPatch(structuredClone(pod), patch, true, true).newDocument;
        assert.deepEqual(patched, once.pod);
        assert.equal(fastJsonPatch.compare(once.pod, twice.pod).length, 0);
      }),
      { numRuns: 400 },
    );
  });

  it("is idempotent across Istio's injection in between (reinvocation), under the rollback too", () => {
    const rolledBack = migratingPolicy({ mesh: { enabled: false } }, ["reviews"]);
    fc.assert(
      fc.property(arbitraryPod, fc.constantFrom("classic", "native"), fc.boolean(), (generated, mode, meshEnabled) => {
        if (generated.spec.containers.some((c) => c.name === "istio-proxy") || generated.spec.initContainers?.some((c) => c.name === "istio-proxy")) return;
        const chosen = meshEnabled ? policy : rolledBack;
        const before = runPipeline({ pod: generated, namespace: "shop" }, chosen).pod;
        const injected = mode === "classic" ? classicInjected(before) : nativeInjected(before);
        const after = runPipeline({ pod: injected, namespace: "shop" }, chosen).pod;
        assert.deepEqual(runPipeline({ pod: after, namespace: "shop" }, chosen).pod, after);
      }),
      { numRuns: 300 },
    );
  });
});
