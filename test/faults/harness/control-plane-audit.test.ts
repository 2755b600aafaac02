import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CoordinationV1Api, CoreV1Api, setHeaderOptions, type CoreV1Event } from "@kubernetes/client-node";
import { startControlPlane, type ControlPlane } from "../../e2e/harness/control-plane.js";
import { waitFor } from "../../e2e/harness/processes.js";
import { leadershipOverlaps, readAuditLog, WRITE_VERBS, type AuditRecord } from "./audit-log.js";

// The fault suite's instruments on a real kube-apiserver and etcd: the audit log records the
// writes the cluster accepted, and compactEtcd makes old resourceVersions unwatchable.

const NAMESPACE = "audited";
const LEASE = "leader";
const LOG_BOUND_MS = 30_000;
const WATCH_BOUND_MS = 30_000;

/** An Event about the test's Lease (an Event lives in its object's namespace). */
const eventAbout = (name: string): CoreV1Event => ({
  metadata: { name },
  involvedObject: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: NAMESPACE, name: LEASE },
  reason: "Tested",
  message: name,
});

/** What the tests read of a watched object, or of the Status a refused or failed watch carries. */
interface Watched {
  metadata?: { name?: string };
  code?: number;
  reason?: string;
  [field: string]: unknown;
}

/** The first event of a watch, as kube-apiserver streams it: one JSON object per line. */
function firstWatchEvent(controlPlane: ControlPlane, path: string): Promise<{ type: string; object: Watched }> {
  const { pki } = controlPlane;
  return new Promise((resolve, reject) => {
    const req = request(
      `${controlPlane.url}${path}`,
      { ca: readFileSync(pki.caCert), cert: readFileSync(pki.adminCert), key: readFileSync(pki.adminKey), timeout: 5_000 },
      (res) => {
        if (res.statusCode !== 200) {
          // A watch refused before it starts is answered with the Status itself.
          let body = "";
          res.on("data", (chunk) => (body += chunk));
          res.on("end", () => resolve({ type: `HTTP ${res.statusCode}`, object: JSON.parse(body || "{}") as Watched }));
          return;
        }
        let buffered = "";
        res.on("data", (chunk) => {
          buffered += chunk;
          const newline = buffered.indexOf("\n");
          if (newline < 0) return;
          resolve(JSON.parse(buffered.slice(0, newline)) as { type: string; object: Watched });
          req.destroy();
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no event within 5 s on ${path}`)));
    req.on("error", reject);
    req.end();
  });
}

describe("the control plane's audit log and etcd compaction", { timeout: 300_000 }, () => {
  let dir: string;
  let controlPlane: ControlPlane;
  let core: CoreV1Api;
  let coordination: CoordinationV1Api;

  before(
    async () => {
      dir = mkdtempSync(join(tmpdir(), "mesh-tailor-faults-"));
      controlPlane = await startControlPlane(join(dir, "cluster"), { audit: true });
      core = controlPlane.kubeConfig.makeApiClient(CoreV1Api);
      coordination = controlPlane.kubeConfig.makeApiClient(CoordinationV1Api);
    },
    { timeout: 180_000 },
  );

  after(async () => {
    await controlPlane?.stop();
    if (!process.env["MESH_TAILOR_E2E_KEEP"]) rmSync(dir, { recursive: true, force: true });
  });

  it("logs each write with who sent it, when, and how it ended; reads are left out", async () => {
    const auditLog = controlPlane.auditLogPath!;
    const userAgent = (who: string) => setHeaderOptions("User-Agent", `audit-test/${who}`);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } }, userAgent("setup"));
    await coordination.createNamespacedLease(
      { namespace: NAMESPACE, body: { metadata: { name: LEASE }, spec: { holderIdentity: "controller-a", leaseDurationSeconds: 15 } } },
      userAgent("setup"),
    );
    await core.readNamespace({ name: NAMESPACE });

    const { namespace, lease, records } = await waitFor("the audit log to hold the creation of the Namespace and of the Lease", LOG_BOUND_MS, async () => {
      const all = await readAuditLog(auditLog);
      const namespace = all.find((r) => r.verb === "create" && r.resource === "namespaces" && r.name === NAMESPACE);
      const lease = all.find((r) => r.verb === "create" && r.resource === "leases" && r.name === LEASE);
      return namespace && lease ? { namespace, lease, records: all } : undefined;
    });

    // The admin certificate's CN is the user (pki.ts).
    assert.deepEqual(
      [namespace.user, namespace.userAgent, namespace.code, namespace.apiGroup, namespace.namespace],
      ["e2e-admin", "audit-test/setup", 201, "", undefined],
    );
    assert.deepEqual(
      [lease.user, lease.userAgent, lease.code, lease.apiGroup, lease.namespace],
      ["e2e-admin", "audit-test/setup", 201, "coordination.k8s.io", NAMESPACE],
    );
    assert.equal((lease.requestObject as { spec?: { holderIdentity?: string } }).spec?.holderIdentity, "controller-a");
    for (const record of [namespace, lease]) {
      assert.ok(
        record.received.getTime() <= record.completed.getTime(),
        `${record.resource}: received ${record.received.toISOString()} after completed ${record.completed.toISOString()}`,
      );
    }
    // The Lease was sent only once the Namespace's creation had answered.
    assert.ok(namespace.received.getTime() <= lease.received.getTime());
    const notWrites = records.filter((r) => !(WRITE_VERBS as readonly string[]).includes(r.verb));
    assert.deepEqual(
      notWrites.map((r) => `${r.verb} ${r.resource}`),
      [],
      "the policy logs writes only",
    );
  });

  it("lets the leadership judge read the real log: the holder's write passes, another process's is caught", async () => {
    const auditLog = controlPlane.auditLogPath!;
    await core.createNamespacedEvent({ namespace: NAMESPACE, body: eventAbout("by-holder") }, setHeaderOptions("User-Agent", "audit-test/controller-a"));
    await core.createNamespacedEvent({ namespace: NAMESPACE, body: eventAbout("by-other") }, setHeaderOptions("User-Agent", "audit-test/controller-b"));

    const records = await waitFor("the audit log to hold both Events", LOG_BOUND_MS, async () => {
      const all = await readAuditLog(auditLog);
      const logged = all.filter((r) => r.resource === "events" && (r.name === "by-holder" || r.name === "by-other"));
      return logged.length === 2 ? all : undefined;
    });
    const identityOf = (record: AuditRecord) => /^audit-test\/(controller-.+)$/.exec(record.userAgent)?.[1];
    const overlaps = leadershipOverlaps(records, { leaseNamespace: NAMESPACE, leaseName: LEASE, identityOf });
    assert.deepEqual(
      overlaps.map((o) => [o.identity, o.record.name, o.holderAtReceived, o.holderAtCompleted]),
      [["controller-b", "by-other", "controller-a", "controller-a"]],
    );
  });

  it("keeps one audit log across a stop and a start of kube-apiserver", async () => {
    await assert.rejects(controlPlane.startApiServer(), /already running/);
    await controlPlane.stopApiServer();
    // Refused, or reset if a kept-alive connection to the old process is tried first.
    await assert.rejects(core.readNamespace({ name: NAMESPACE }), /ECONNREFUSED|ECONNRESET|socket hang up/);
    await controlPlane.startApiServer();
    await core.createNamespace({ body: { metadata: { name: "after-restart" } } });
    const names = await waitFor("the audit log to hold the Namespace created after the restart", LOG_BOUND_MS, async () => {
      const created = (await readAuditLog(controlPlane.auditLogPath!))
        .filter((r) => r.verb === "create" && r.resource === "namespaces" && r.code === 201)
        .map((r) => r.name);
      return created.includes("after-restart") ? created : undefined;
    });
    assert.ok(names.includes(NAMESPACE), "the records from before the restart are still there");
  });

  it("compacts etcd, after which a watch from an older resourceVersion is 410 Gone", async () => {
    // Events, because kube-apiserver keeps no watch cache for them (DefaultWatchCacheSizes in
    // k8s.io/kubernetes pkg/kubeapiserver/default_storage_factory_builder.go, v1.34.4): their
    // watches are etcd's own, and see its compaction. A cached resource's watch is answered from
    // kube-apiserver's window of recent events instead, whatever etcd has compacted.
    const create = async (name: string) => (await core.createNamespacedEvent({ namespace: NAMESPACE, body: eventAbout(name) })).metadata.resourceVersion!;
    const old = await create("before-compaction-1");
    await create("before-compaction-2");
    const newest = await create("before-compaction-3");
    const watchFromOld = `/api/v1/namespaces/${NAMESPACE}/events?watch=true&resourceVersion=${old}`;

    // The control: before compaction, the same watch replays what followed OLD.
    await waitFor(`a watch from resourceVersion ${old} to start with the second Event`, WATCH_BOUND_MS, async () => {
      const first = await firstWatchEvent(controlPlane, watchFromOld);
      if (first.type === "ADDED" && first.object["metadata"]?.name === "before-compaction-2") return true;
      throw new Error(`its first event was ${first.type} ${JSON.stringify(first.object).slice(0, 300)}`);
    });

    const compacted = await controlPlane.compactEtcd();
    assert.ok(compacted >= Number(newest), `compacted at ${compacted}, before the newest write's ${newest}`);

    const gone = await waitFor(`a watch from resourceVersion ${old} to be 410 Gone after compaction at ${compacted}`, WATCH_BOUND_MS, async () => {
      const first = await firstWatchEvent(controlPlane, watchFromOld);
      // Once started, a watch reports the failure as an ERROR event carrying the Status.
      if ((first.type === "ERROR" || first.type === "HTTP 410") && first.object["code"] === 410) return first.object;
      throw new Error(`its first event was ${first.type} ${JSON.stringify(first.object).slice(0, 300)}`);
    });
    assert.equal(gone["reason"], "Expired");

    await create("after-compaction");
    const again = await controlPlane.compactEtcd();
    assert.ok(again > compacted, `a second compaction, after a write, at ${again}: not past the first one's ${compacted}`);
  });
});
