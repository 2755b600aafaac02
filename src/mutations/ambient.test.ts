import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appPod, jobPod, policyWith } from "../../test/fixtures/pods.js";
import { policyProblems } from "../../test/fixtures/policy-problems.js";
import type { Pod } from "../pod/types.js";
import { runPipeline } from "./pipeline.js";

const HOLD = "holdApplicationUntilProxyStarts";
const admit = (pod: Pod, policy: ReturnType<typeof policyWith>, namespace = "shop") => runPipeline({ pod, namespace }, policy);
const labelsOf = (pod: Pod) => pod.metadata?.labels ?? {};

describe("dataplane: ambient per service", () => {
  const ambient = policyWith({
    defaults: { proxyResources: { cpu: "100m" } },
    services: [{ name: "reviews", dataplane: "ambient", waypoint: "reviews-waypoint" }, { name: "ratings" }],
  });

  it("labels an ambient service's pod for ambient and out of sidecar injection in one admission, with its waypoint", () => {
    const result = admit(appPod(), ambient);
    const labels = labelsOf(result.pod);
    assert.equal(labels["sidecar.istio.io/inject"], "false", "Istio's injector would inject a pod labelled ambient alone");
    assert.equal(labels["istio.io/dataplane-mode"], "ambient");
    assert.equal(labels["istio.io/use-waypoint"], "reviews-waypoint");
    assert.equal(result.decision?.selected, true);
    assert.equal(result.decision?.dataplane, "ambient");
    assert.match(result.decision.reason, /dataplane: ambient/);
  });

  it("gives it none of the sidecar's customizations, and still the labels every pod gets", () => {
    const result = admit(appPod({ preStop: { preStop: { exec: { command: ["sleep", "30"] } } } }), ambient);
    const annotations = result.pod.metadata?.annotations ?? {};
    assert.equal(annotations["proxy.istio.io/config"], undefined, `no ${HOLD}`);
    assert.equal(annotations["sidecar.istio.io/proxyCPU"], undefined, "no proxy resources");
    assert.equal(result.pod.spec.terminationGracePeriodSeconds, undefined, "no grace period for a proxy's drain");
    assert.equal(labelsOf(result.pod)["branch"], "master", "the sandbox branch label still applies");
    assert.deepEqual(result.applied, ["inject", "branch"]);
    // A Job's pod: locality applies (it is a label), the native sidecar for Jobs does not.
    const job = admit(
      jobPod(),
      policyWith({ services: [{ name: "report", dataplane: "ambient" }], jobs: { nativeSidecar: true }, locality: { default: "eu-west1" } }),
    );
    assert.deepEqual(job.applied, ["inject", "locality", "branch"]);
  });

  it("warns, naming them, when its entry asks for settings only a sidecar has", () => {
    const asking = policyWith({
      services: [
        { name: "reviews", dataplane: "ambient", revision: "canary", proxyResources: { cpu: "1" }, hostPassthrough: "both", connection: { http10: true } },
      ],
    });
    const result = admit(appPod(), asking);
    assert.ok(
      result.warnings.includes(
        'mesh-tailor: service "reviews" is in ambient, which has no sidecar: its entry\'s revision, proxyResources, hostPassthrough, connection.http10 do not apply',
      ),
      result.warnings.join("\n"),
    );
    assert.equal(labelsOf(result.pod)["istio.io/rev"], undefined);
  });

  it("follows defaults.dataplane, a service's own dataplane first", () => {
    const mostlyAmbient = policyWith({ defaults: { inject: true, dataplane: "ambient" }, services: [{ name: "ratings", dataplane: "sidecar" }] });
    assert.equal(labelsOf(admit(appPod(), mostlyAmbient).pod)["istio.io/dataplane-mode"], "ambient");
    const sidecar = admit(appPod({ name: "ratings" }), mostlyAmbient);
    assert.equal(labelsOf(sidecar.pod)["sidecar.istio.io/inject"], "true");
    assert.equal(labelsOf(sidecar.pod)["istio.io/dataplane-mode"], undefined, "Istio leaves a pod with a sidecar out of ambient by itself");
  });

  it('lets the pod\'s own labels win, with a warning: inject "true" gets a sidecar, dataplane-mode "none" stays out', () => {
    const own = admit(appPod({ labels: { "sidecar.istio.io/inject": "true" } }), ambient);
    assert.equal(own.decision?.dataplane, "sidecar");
    assert.match(own.warnings.join(), /sets sidecar\.istio\.io\/inject="true", which wins over the policy: it gets a sidecar, not the ambient dataplane/);
    const none = admit(appPod({ labels: { "istio.io/dataplane-mode": "none" } }), ambient);
    assert.equal(none.decision?.selected, false);
    assert.equal(labelsOf(none.pod)["sidecar.istio.io/inject"], "false");
    assert.match(none.warnings.join(), /sets istio\.io\/dataplane-mode="none", which keeps it out of the ambient dataplane the policy gives it/);
    // A value Istio does not know keeps it out of ambient as well, the same on a second pass.
    const unknown = admit(appPod({ labels: { "istio.io/dataplane-mode": "later" } }), ambient);
    assert.equal(unknown.decision?.selected, false);
    assert.deepEqual(admit(unknown.pod, ambient).pod, unknown.pod);
    // "none" says nothing of a sidecar: a sidecar service's pod that carries it keeps its sidecar.
    const sidecarNone = admit(appPod({ name: "ratings", labels: { "istio.io/dataplane-mode": "none" } }), ambient);
    assert.equal(sidecarNone.decision?.dataplane, "sidecar");
    assert.deepEqual(sidecarNone.warnings, []);
    const asks = admit(appPod({ name: "ratings", labels: { "istio.io/dataplane-mode": "ambient" } }), ambient);
    assert.equal(asks.decision?.dataplane, "ambient");
    assert.equal(labelsOf(asks.pod)["sidecar.istio.io/inject"], "false");
  });

  it("under the rollback, takes out of ambient every pod the policy would put in the mesh and a pod that asks for it, and leaves other pods' labels alone", () => {
    const rolledBack = policyWith({ mesh: { enabled: false }, services: [{ name: "reviews", dataplane: "ambient" }, { name: "ratings" }] });
    const reviews = admit(appPod(), rolledBack);
    assert.equal(labelsOf(reviews.pod)["istio.io/dataplane-mode"], "none");
    assert.equal(labelsOf(reviews.pod)["sidecar.istio.io/inject"], "false");
    const asked = admit(appPod({ name: "details", labels: { "istio.io/dataplane-mode": "ambient" } }), rolledBack);
    assert.equal(labelsOf(asked.pod)["istio.io/dataplane-mode"], "none");
    assert.match(asked.warnings.join(), /rollback is on .*istio\.io\/dataplane-mode="ambient" on service "details" overridden to "none"/);
    // A sidecar service's pods too: without their sidecar, a namespace labelled for ambient would enrol them.
    assert.equal(labelsOf(admit(appPod({ name: "ratings" }), rolledBack).pod)["istio.io/dataplane-mode"], "none");
    // A service the policy keeps out, and pods that opt out themselves, are left as they are.
    assert.equal(labelsOf(admit(appPod({ name: "details" }), rolledBack).pod)["istio.io/dataplane-mode"], undefined);
    assert.equal(labelsOf(admit(appPod({ labels: { "sidecar.istio.io/inject": "false" } }), rolledBack).pod)["istio.io/dataplane-mode"], undefined);
    const hostNetwork = { ...appPod(), spec: { ...appPod().spec, hostNetwork: true } };
    assert.equal(labelsOf(admit(hostNetwork, rolledBack).pod)["istio.io/dataplane-mode"], undefined);
    // Never in ambient (kept out by the policy): nothing to take it out of, so nothing written.
    const neverIn = policyWith({ mesh: { enabled: false }, defaults: { dataplane: "ambient" }, services: [{ name: "reviews", inject: false }] });
    assert.equal(labelsOf(admit(appPod(), neverIn).pod)["istio.io/dataplane-mode"], undefined);
    assert.equal(labelsOf(admit(appPod({ name: "details" }), neverIn).pod)["istio.io/dataplane-mode"], undefined);
  });

  it("changes nothing the second time, and its record stays put", () => {
    const once = admit(appPod(), ambient).pod;
    assert.deepEqual(admit(once, ambient).pod, once);
    // Under the rollback too, for a pod it writes out of ambient and for one that asked for it itself.
    const rolledBack = policyWith({ mesh: { enabled: false }, services: [{ name: "reviews", dataplane: "ambient" }] });
    for (const pod of [once, appPod({ name: "details", labels: { "istio.io/dataplane-mode": "ambient" } })]) {
      const off = admit(pod, rolledBack).pod;
      assert.equal(labelsOf(off)["istio.io/dataplane-mode"], "none");
      assert.deepEqual(admit(off, rolledBack).pod, off);
    }
  });

  it("refuses a waypoint for a service with a sidecar", () => {
    assert.match(policyProblems("services:\n  - name: reviews\n    waypoint: w\n"), /services\.0\.waypoint: needs dataplane: ambient|needs dataplane: ambient/);
    assert.match(policyProblems("services:\n  - name: reviews\n    dataplane: both\n"), /dataplane/);
    assert.match(policyProblems("services:\n  - name: reviews\n    dataplane: ambient\n    waypoint: Not_A_Name\n"), /DNS-1123 label/);
  });
});
