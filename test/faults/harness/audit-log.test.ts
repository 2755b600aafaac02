import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { auditPolicy, leadershipOverlaps, parseAuditLog, readAuditLog, writeAuditPolicy, type AuditRecord } from "./audit-log.js";

// The audit log's reader and the leadership judge on hand-made records; the real kube-apiserver's
// log is read in control-plane-audit.test.ts.

const LEASE = { leaseNamespace: "mesh-tailor", leaseName: "mesh-tailor-controller" };
// The judge is told identities by the caller; here, a User-Agent such as "controller/<identity>".
const identityOf = (record: AuditRecord): string | undefined => /^controller\/(.+)$/.exec(record.userAgent)?.[1];
const T0 = Date.parse("2026-01-01T00:00:00Z");

interface Spec {
  verb?: string;
  identity?: string;
  apiGroup?: string;
  resource?: string;
  namespace?: string;
  name?: string;
  code?: number;
  /** Milliseconds after T0 at which the request was received and completed. */
  at: [number, number];
  requestObject?: unknown;
}

function record(spec: Spec): AuditRecord {
  return {
    auditID: `id-${spec.at.join("-")}`,
    verb: spec.verb ?? "create",
    user: "system:serviceaccount:mesh-tailor:mesh-tailor-controller",
    userAgent: spec.identity ? `controller/${spec.identity}` : "kubectl/v1.34.4",
    apiGroup: spec.apiGroup ?? "",
    resource: spec.resource ?? "namespaces",
    subresource: undefined,
    namespace: spec.namespace,
    name: spec.name ?? "shop",
    code: spec.code ?? 200,
    received: new Date(T0 + spec.at[0]),
    completed: new Date(T0 + spec.at[1]),
    requestObject: spec.requestObject,
  };
}

const leaseWrite = (verb: string, holder: string | undefined, at: [number, number], writer = holder, code = 200): AuditRecord =>
  record({
    verb,
    identity: writer,
    apiGroup: "coordination.k8s.io",
    resource: "leases",
    namespace: LEASE.leaseNamespace,
    name: LEASE.leaseName,
    code,
    at,
    requestObject: {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: LEASE.leaseName },
      spec: holder === undefined ? { leaseDurationSeconds: 15 } : { holderIdentity: holder, leaseDurationSeconds: 15 },
    },
  });
const sidecarWrite = (identity: string | undefined, at: [number, number], code = 201): AuditRecord =>
  record({ identity, apiGroup: "networking.istio.io", resource: "sidecars", namespace: "shop", name: "default", code, at });

const judge = (records: AuditRecord[]) =>
  leadershipOverlaps(records, { ...LEASE, identityOf }).map((o) => ({
    at: o.record.received.getTime() - T0,
    identity: o.identity,
    received: o.holderAtReceived,
    completed: o.holderAtCompleted,
  }));

describe("audit policy", () => {
  it("logs writes to leases, sidecars, namespaces and events at Request, and nothing else", () => {
    const dir = mkdtempSync(join(tmpdir(), "mesh-tailor-audit-"));
    try {
      writeAuditPolicy(join(dir, "policy.yaml"));
      type Rule = { level: string; verbs?: string[]; resources?: { group: string; resources: string[] }[] };
      const written = parse(readFileSync(join(dir, "policy.yaml"), "utf8")) as { apiVersion: string; kind: string; rules: Rule[] };
      assert.deepEqual(written, auditPolicy());
      assert.equal(written.apiVersion, "audit.k8s.io/v1");
      assert.equal(written.kind, "Policy");
      const [logged, rest] = written.rules;
      assert.equal(logged?.level, "Request");
      assert.deepEqual(logged?.verbs, ["create", "update", "patch", "delete", "deletecollection"]);
      assert.deepEqual((logged?.resources ?? []).flatMap((r) => r.resources.map((resource) => `${resource}.${r.group}`)).sort(), [
        "events.",
        "events.events.k8s.io",
        "leases.coordination.k8s.io",
        "namespaces.",
        "sidecars.networking.istio.io",
      ]);
      assert.deepEqual(rest, { level: "None" });
      assert.equal(written.rules.length, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("audit log reader", () => {
  const event = (stage: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      kind: "Event",
      apiVersion: "audit.k8s.io/v1",
      level: "Request",
      auditID: "0b4f-1",
      stage,
      requestURI: "/apis/coordination.k8s.io/v1/namespaces/mesh-tailor/leases",
      verb: "create",
      user: { username: "e2e-admin", groups: ["system:masters", "system:authenticated"] },
      sourceIPs: ["127.0.0.1"],
      userAgent: "controller/a",
      objectRef: { resource: "leases", namespace: "mesh-tailor", name: "mesh-tailor-controller", apiGroup: "coordination.k8s.io", apiVersion: "v1" },
      responseStatus: { metadata: {}, code: 201 },
      requestObject: { kind: "Lease", spec: { holderIdentity: "a" } },
      requestReceivedTimestamp: "2026-01-01T00:00:00.123456Z",
      stageTimestamp: "2026-01-01T00:00:00.130001Z",
      ...extra,
    });

  it("reads ResponseComplete events into records", () => {
    const records = parseAuditLog([event("ResponseStarted"), event("ResponseComplete"), ""].join("\n"));
    assert.deepEqual(records, [
      {
        auditID: "0b4f-1",
        verb: "create",
        user: "e2e-admin",
        userAgent: "controller/a",
        apiGroup: "coordination.k8s.io",
        resource: "leases",
        subresource: undefined,
        namespace: "mesh-tailor",
        name: "mesh-tailor-controller",
        code: 201,
        received: new Date("2026-01-01T00:00:00.123Z"),
        completed: new Date("2026-01-01T00:00:00.130Z"),
        requestObject: { kind: "Lease", spec: { holderIdentity: "a" } },
      },
    ]);
  });

  it('reads the core group as "" and a cluster-scoped object without a namespace', () => {
    const [namespace] = parseAuditLog(event("ResponseComplete", { objectRef: { resource: "namespaces", name: "shop", apiVersion: "v1" } }) + "\n");
    assert.equal(namespace?.apiGroup, "");
    assert.equal(namespace?.namespace, undefined);
    assert.equal(namespace?.name, "shop");
  });

  it("leaves a last line still being written for the next read, and refuses any other broken line", () => {
    const complete = event("ResponseComplete");
    assert.equal(parseAuditLog(`${complete}\n${complete.slice(0, 40)}`).length, 1);
    assert.throws(() => parseAuditLog(`${complete.slice(0, 40)}\n${complete}\n`), /audit log line 1 is not JSON/);
    assert.throws(() => parseAuditLog(event("ResponseComplete", { stageTimestamp: "soon" }) + "\n"), /line 1: stageTimestamp "soon" is not a time/);
  });

  it("reads no records from a log kube-apiserver has not created yet", async () => {
    assert.deepEqual(await readAuditLog(join(tmpdir(), "mesh-tailor-no-such-audit.log")), []);
  });
});

describe("leadershipOverlaps", () => {
  it("finds none in a clean handover: each writes only while it holds the Lease", () => {
    const records = [
      leaseWrite("create", "a", [0, 5]),
      sidecarWrite("a", [5, 9]),
      leaseWrite("update", "a", [2_000, 2_004]),
      sidecarWrite("a", [2_010, 2_020]),
      leaseWrite("update", undefined, [3_000, 3_003], "a"), // a releases on shutdown
      leaseWrite("update", "b", [4_000, 4_004]),
      sidecarWrite("b", [4_004, 4_010]), // received in the millisecond b's acquisition completed
    ];
    assert.deepEqual(judge(records), []);
  });

  it("catches a deposed holder's write (negative control)", () => {
    const records = [
      leaseWrite("create", "a", [0, 5]),
      sidecarWrite("a", [10, 15]),
      // a stalls; its Lease expires and b takes it over
      leaseWrite("update", "b", [20_000, 20_006]),
      sidecarWrite("b", [20_010, 20_014]),
      // a wakes up and writes as if it still led
      sidecarWrite("a", [20_050, 20_060]),
    ];
    assert.deepEqual(judge(records), [{ at: 20_050, identity: "a", received: "b", completed: "b" }]);
  });

  it("catches a write in flight across a handover, and one sent before any Lease", () => {
    const records = [
      sidecarWrite("a", [0, 3]),
      leaseWrite("create", "a", [10, 15]),
      sidecarWrite("a", [900, 1_100]), // received under a, completed under b
      leaseWrite("update", "b", [1_000, 1_050]),
    ];
    assert.deepEqual(judge(records), [
      { at: 0, identity: "a", received: undefined, completed: undefined },
      { at: 900, identity: "a", received: "a", completed: "b" },
    ]);
  });

  it("follows the Lease through patches, deletion and failed writes", () => {
    const patch = (at: [number, number], requestObject: unknown, writer: string) =>
      record({
        verb: "patch",
        identity: writer,
        apiGroup: "coordination.k8s.io",
        resource: "leases",
        namespace: LEASE.leaseNamespace,
        name: LEASE.leaseName,
        at,
        requestObject,
      });
    const records = [
      leaseWrite("create", "a", [0, 5]),
      leaseWrite("update", "b", [100, 105], "b", 409), // b's attempt lost the race: no change
      sidecarWrite("a", [110, 120]),
      patch([200, 205], { spec: { renewTime: "2026-01-01T00:00:00.200000Z" } }, "a"), // a renewal names no holder
      sidecarWrite("a", [210, 220]),
      patch([300, 305], { spec: { holderIdentity: "b" } }, "b"), // merge patch
      sidecarWrite("b", [310, 320]),
      patch([400, 405], [{ op: "replace", path: "/spec/holderIdentity", value: "c" }], "c"), // JSON patch
      sidecarWrite("c", [410, 420]),
      sidecarWrite("b", [430, 440]), // b, deposed by c
      record({ verb: "delete", apiGroup: "coordination.k8s.io", resource: "leases", namespace: LEASE.leaseNamespace, name: LEASE.leaseName, at: [500, 505] }),
      sidecarWrite("c", [510, 520]), // c, its Lease deleted
    ];
    assert.deepEqual(judge(records), [
      { at: 430, identity: "b", received: "c", completed: "c" },
      { at: 510, identity: "c", received: undefined, completed: undefined },
    ]);
  });

  it("judges only successful writes of identified processes, and not the election's own Lease writes", () => {
    const records = [
      leaseWrite("create", "a", [0, 5]),
      sidecarWrite("b", [10, 20], 409), // refused: the cluster did not act on it
      sidecarWrite(undefined, [30, 40]), // the test's own write
      record({ verb: "get", identity: "b", resource: "namespaces", at: [50, 51] }), // a read
      // another Lease, taken by b: neither an act of leadership nor a change of this Lease's holder
      record({
        verb: "update",
        identity: "b",
        apiGroup: "coordination.k8s.io",
        resource: "leases",
        namespace: LEASE.leaseNamespace,
        name: "other",
        at: [60, 65],
        requestObject: { spec: { holderIdentity: "b" } },
      }),
      sidecarWrite("a", [70, 80]),
      sidecarWrite("b", [90, 95]),
    ];
    assert.deepEqual(judge(records), [{ at: 90, identity: "b", received: "a", completed: "a" }]);
  });
});
