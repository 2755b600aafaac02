import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StatusReport, WorkloadStatus } from "../ops/status.js";
import { choiceFlag, UsageError } from "./command.js";
import { bypassLines, podsLine, statusTable, summaryLine, unjudgedLines } from "./status-command.js";

const row = (name: string, bypassed: number, bypassReason?: string): WorkloadStatus => ({
  namespace: "shop",
  kind: "Deployment",
  name,
  service: name,
  inMesh: undefined,
  revision: undefined,
  pods: 2,
  withProxy: 2,
  withoutProxy: 0,
  stale: 0,
  staleBy: { policy: 0, dataplane: 0, "proxy-version": 0, "sidecar-mode": 0 },
  staleReason: undefined,
  bypassed,
  bypassReason,
});

const report = (workloads: WorkloadStatus[]): StatusReport => ({
  policyRevision: "0123456789ab",
  workloads,
  summary: {
    workloads: workloads.length,
    servicesInMesh: 0,
    servicesInAmbient: 0,
    pendingMigration: 0,
    pendingRollback: 0,
    stalePods: 0,
    problems: 0,
    bypassedPods: workloads.reduce((sum, w) => sum + w.bypassed, 0),
    pods: { sidecar: 0, ambient: 0, neither: 0, byRevision: {} },
  },
});

describe("status's text output", () => {
  it("names every workload with pods Istio injected that mesh-tailor did not tailor, and counts them in the summary", () => {
    const shown = report([row("legacy", 2, 'labelled mesh-tailor.io/skip: "true"'), row("reviews", 0)]);
    assert.deepEqual(bypassLines(shown), [
      `bypassed tailoring: shop/deployment/legacy: 2 pod(s) with Istio's proxy, not tailored: labelled mesh-tailor.io/skip: "true"`,
    ]);
    assert.match(summaryLine(shown), /, 2 pods injected by Istio without tailoring \(policy 0123456789ab\)$/);
  });

  it("says nothing of it when there is none", () => {
    const clean = report([row("reviews", 0)]);
    assert.deepEqual(bypassLines(clean), []);
    assert.doesNotMatch(summaryLine(clean), /without tailoring/);
  });
});

describe("status's table", () => {
  it("has a CONNECTION column only when some workload gets a connection switch", () => {
    assert.doesNotMatch(statusTable(report([row("reviews", 0)])), /CONNECTION/);
    const table = statusTable(report([{ ...row("reviews", 0), connection: "HTTP/1.0, idle timeout 2h" }, row("ratings", 0)])).split("\n");
    assert.match(table[0]!, /STALE +CONNECTION$/);
    assert.match(table[1]!, / HTTP\/1\.0, idle timeout 2h$/);
    assert.match(table[2]!, / -$/);
  });
});

describe("status's dataplane", () => {
  it("marks an ambient workload IN (ambient) and counts ambient services in the summary", () => {
    const ambient = { ...row("reviews", 0), inMesh: true, dataplane: "ambient" as const, revision: "canary" };
    const shown = report([ambient]);
    assert.match(statusTable(shown).split("\n")[1]!, /\sIN \(ambient\)\s/);
    assert.match(summaryLine({ ...shown, summary: { ...shown.summary, servicesInMesh: 1, servicesInAmbient: 1 } }), /1 services in the mesh \(1 in ambient\),/);
    assert.doesNotMatch(summaryLine(report([row("ratings", 0)])), /in ambient/);
  });
});

describe("status's reasons and pods", () => {
  it("breaks STALE down by reason, a column each, only when more than one is at work", () => {
    const both = { ...row("reviews", 0), stale: 2, staleBy: { policy: 2, dataplane: 1, "proxy-version": 0, "sidecar-mode": 0 } };
    const lines = statusTable(report([both, row("ratings", 0)])).split("\n");
    assert.match(lines[0]!, /STALE {2}STALE POLICY {2}STALE DATAPLANE$/);
    assert.match(lines[1]!, /\s2\s+2\s+1$/);
    const one = { ...row("reviews", 0), stale: 2, staleBy: { policy: 2, dataplane: 0, "proxy-version": 0, "sidecar-mode": 0 } };
    assert.doesNotMatch(statusTable(report([one])), /STALE POLICY/);
    // An upgrade: the proxy's version and its placement, each its own column.
    const upgrade = { ...row("reviews", 0), stale: 2, staleBy: { policy: 0, dataplane: 0, "proxy-version": 2, "sidecar-mode": 1 } };
    const upgraded = statusTable(report([upgrade])).split("\n");
    assert.match(upgraded[0]!, /STALE {2}STALE PROXY-VERSION {2}STALE SIDECAR-MODE$/);
    assert.match(upgraded[1]!, /\s2\s+2\s+1$/);
  });

  it("takes --reason from its list only", () => {
    assert.equal(choiceFlag("--reason", "dataplane", ["policy", "dataplane"]), "dataplane");
    assert.equal(choiceFlag("--reason", undefined, ["policy", "dataplane"]), undefined);
    assert.throws(
      () => choiceFlag("--reason", "version", ["policy", "dataplane"]),
      (e: unknown) => e instanceof UsageError && /--reason must be one of policy, dataplane, got "version"/.test(e.message),
    );
  });

  it("says what of Istio's injection it could not judge, only when some pod has a sidecar", () => {
    const shown = { ...report([]), unjudged: ["revision canary: no ConfigMap istio-system/istio-sidecar-injector-canary"] };
    assert.deepEqual(unjudgedLines(shown), []);
    const withSidecars = { ...shown, summary: { ...shown.summary, pods: { sidecar: 1, ambient: 0, neither: 0, byRevision: { canary: 1 } } } };
    assert.deepEqual(unjudgedLines(withSidecars), [
      "not judged (proxy-version, sidecar-mode): revision canary: no ConfigMap istio-system/istio-sidecar-injector-canary",
    ]);
  });

  it("counts pods by dataplane and revision", () => {
    const shown = report([]);
    const counted = { ...shown, summary: { ...shown.summary, pods: { sidecar: 3, ambient: 2, neither: 1, byRevision: { canary: 1, "1-30": 2 } } } };
    assert.equal(podsLine(counted), "pods: 3 with a sidecar (by revision: 1-30 2, canary 1), 2 in ambient, 1 with neither");
  });
});
