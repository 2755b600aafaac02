import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { Sidecar } from "../../src/namespaces/default-sidecar.js";
import { serviceAccountKubeconfig, startController, type ControllerProcess } from "../e2e/harness/controller-process.js";
import { startMeshCluster, type MeshCluster } from "../e2e/harness/mesh-cluster.js";
import { waitFor } from "../e2e/harness/processes.js";
import { leadershipOverlaps, readAuditLog, type AuditRecord } from "./harness/audit-log.js";
import { startTcpProxy, type TcpProxy } from "./harness/tcp-proxy.js";

// The controller under faults, on a real kube-apiserver and etcd: each replica reaches the API
// server through a TCP proxy the test controls (black-holed, refused, passed), and the API
// server's audit log is the witness of what each replica actually wrote. Lease timing is
// shortened in client-go's proportions (lease > renew deadline > retry) to keep the suite short.
const LEASE_SECONDS = 8;
const RENEW_SECONDS = 5;
const RETRY_SECONDS = 1;
const LEASE_ARGS = ["--lease-duration", `${LEASE_SECONDS}s`, "--renew-deadline", `${RENEW_SECONDS}s`, "--retry-period", `${RETRY_SECONDS}s`];
// What a busy 2-core machine may add to any bound: timers late, processes slow to be scheduled.
const SLACK_MS = 2_500;

const POLICY = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices: []\n";
const SIDECARS = { group: "networking.istio.io", version: "v1", plural: "sidecars" } as const;
const ENABLED = "mesh-tailor.io/enabled";
const MERGE = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

interface Replica {
  readonly identity: string;
  readonly proxy: TcpProxy;
  readonly process: ControllerProcess;
}

// The controller names itself in its User-Agent: "mesh-tailor-controller (IDENTITY)".
const identityOf = (record: AuditRecord): string | undefined => /^mesh-tailor-controller \((.+)\)$/.exec(record.userAgent)?.[1];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const logTime = (replica: Replica, message: string): number | undefined => replica.process.logs.find((line) => line.msg === message)?.time;
const alive = (replica: Replica): boolean => replica.process.child.exitCode === null && replica.process.child.signalCode === null;

describe("the controller under faults", { timeout: 1_200_000 }, () => {
  let cluster: MeshCluster;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  const replicas: Replica[] = [];
  let serial = 0;

  const startReplica = async (): Promise<Replica> => {
    const apiPort = Number(new URL(cluster.controlPlane.url).port);
    const proxy = await startTcpProxy({ host: "127.0.0.1", port: apiPort });
    const kubeconfig = await serviceAccountKubeconfig(cluster, "mesh-tailor", "mesh-tailor-controller", `https://127.0.0.1:${proxy.port}`);
    const identity = `replica-${++serial}`;
    const process = await startController({ identity, kubeconfig, policyFile: cluster.policyFile, args: LEASE_ARGS });
    const replica = { identity, proxy, process };
    replicas.push(replica);
    return replica;
  };
  /** Replicas running now; the dead are replaced, so two are always up. */
  const keepTwo = async (): Promise<void> => {
    while (replicas.filter(alive).length < 2) await startReplica();
  };
  const holder = async (): Promise<string | undefined> =>
    (
      await cluster.controlPlane.kubeConfig
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ namespace: "mesh-tailor", name: "mesh-tailor-controller" })
        .catch(() => undefined)
    )?.spec?.holderIdentity;
  const leaderMetric = async (replica: Replica): Promise<number | undefined> =>
    alive(replica) ? replica.process.metric("mesh_tailor_controller_leader").catch(() => undefined) : undefined;
  /** The one replica that holds the lease and says it leads. */
  const leader = (what = "one replica to lead") =>
    waitFor(what, (LEASE_SECONDS + 20) * 1000, async () => {
      const name = await holder();
      const found = replicas.find((r) => r.identity === name && alive(r));
      return found && (await leaderMetric(found)) === 1 ? found : undefined;
    });
  const sidecarOf = async (namespace: string): Promise<Sidecar | undefined> =>
    (await custom.getNamespacedCustomObject({ ...SIDECARS, namespace, name: "default" }).catch(() => undefined)) as Sidecar | undefined;
  const managedIn = (namespace: string, timeoutMs: number, what = `the managed Sidecar in ${namespace}`) =>
    waitFor(
      what,
      timeoutMs,
      async () => ((await sidecarOf(namespace))?.["metadata"]?.labels?.["app.kubernetes.io/managed-by"] === "mesh-tailor" ? true : undefined),
      250,
    );
  const enable = (name: string) => core.patchNamespace({ name, body: { metadata: { labels: { [ENABLED]: "true" } } } }, MERGE);
  const disable = (name: string) => core.patchNamespace({ name, body: { metadata: { labels: { [ENABLED]: null } } } }, MERGE);
  const deleteSidecar = (namespace: string) => custom.deleteNamespacedCustomObject({ ...SIDECARS, namespace, name: "default" });
  /** Successful writes (not to the lease) the audit log attributes to IDENTITY, completed after SINCE. */
  const writesBy = async (identity: string, since: number): Promise<AuditRecord[]> =>
    (await readAuditLog(cluster.controlPlane.auditLogPath!)).filter(
      (r) => identityOf(r) === identity && r.resource !== "leases" && r.code < 300 && r.completed.getTime() >= since && r.verb !== "get",
    );

  before(
    async () => {
      cluster = await startMeshCluster(POLICY, { audit: true });
      core = cluster.core;
      custom = cluster.controlPlane.kubeConfig.makeApiClient(CustomObjectsApi);
      for (const name of ["shop", "cart", "search", "victim"]) await cluster.createNamespace(name, { [ENABLED]: "true" });
      await keepTwo();
      await leader();
      for (const name of ["shop", "cart", "search", "victim"]) await managedIn(name, 30_000);
    },
    { timeout: 300_000 },
  );

  after(async () => {
    for (const replica of replicas) {
      await replica.process.stop();
      await replica.proxy.close();
    }
    await cluster?.stop();
  });

  it("a leader whose connection is black-holed stops acting within the renew deadline, and the standby takes over after the lease", async () => {
    const old = await leader();
    const cutAt = Date.now();
    old.proxy.blackhole();
    await waitFor("the black-holed leader to say it lost leadership", (RENEW_SECONDS + 10) * 1000, () => logTime(old, "leadership lost"));
    const lostAfterMs = logTime(old, "leadership lost")! - cutAt;
    assert.ok(
      lostAfterMs <= RENEW_SECONDS * 1000 + SLACK_MS,
      `it stopped ${lostAfterMs} ms after its path was cut, within the ${RENEW_SECONDS} s renew deadline`,
    );
    await waitFor("the deposed leader to exit", 15_000, () => (alive(old) ? undefined : true));
    assert.equal(old.process.child.exitCode, 1, "a deposed leader exits (the kubelet restarts it as a candidate)");
    const next = await leader("the standby to take over");
    assert.notEqual(next.identity, old.identity);
    await deleteSidecar("shop");
    await managedIn("shop", 20_000, "the new leader to restore the deleted Sidecar");
    await keepTwo();
  });

  it("a leader paused past its lease (SIGSTOP) and resumed writes nothing, and never deletes the Sidecar a user made meanwhile", async () => {
    const paused = await leader();
    const pausedAt = Date.now();
    paused.process.child.kill("SIGSTOP");
    try {
      const next = await leader("the standby to take over from the paused leader");
      assert.notEqual(next.identity, paused.identity);
      // Meanwhile: the namespace is disabled (the new leader removes its Sidecar) and the user puts their own in its place.
      await disable("victim");
      await waitFor(
        "the new leader to remove the managed Sidecar of the disabled namespace",
        20_000,
        async () => ((await sidecarOf("victim")) ? undefined : true),
        250,
      );
      await custom.createNamespacedCustomObject({
        ...SIDECARS,
        namespace: "victim",
        body: {
          apiVersion: "networking.istio.io/v1",
          kind: "Sidecar",
          metadata: { name: "default", namespace: "victim" },
          spec: { egress: [{ hosts: ["*/*"] }] },
        },
      });
      await enable("victim");
    } finally {
      paused.process.child.kill("SIGCONT");
    }
    const theirs = (await sidecarOf("victim"))!;
    await waitFor("the resumed leader to find it lost and exit", 20_000, () => (alive(paused) ? undefined : true));
    assert.equal(paused.process.child.exitCode, 1);
    await sleep(RETRY_SECONDS * 2000);
    const now = (await sidecarOf("victim"))!;
    assert.equal(now["metadata"].uid, theirs["metadata"].uid, "the user's Sidecar is still there");
    assert.equal(now["metadata"].labels?.["app.kubernetes.io/managed-by"], undefined);
    assert.deepEqual(await writesBy(paused.identity, pausedAt), [], "the paused leader wrote nothing after it was paused");
    await keepTwo();
  });

  for (const outageSeconds of [15, 40]) {
    it(`an API outage of ${outageSeconds} s: every replica leads and reconciles or exits, and the Sidecars are back within seconds`, async () => {
      await leader();
      const running = replicas.filter(alive);
      for (const replica of running) replica.proxy.refuse();
      await deleteSidecar("cart");
      await cluster.createNamespace(`during-${outageSeconds}`, { [ENABLED]: "true" });
      await sleep(outageSeconds * 1000);
      for (const replica of running) replica.proxy.pass();
      const backAt = Date.now();
      // A standby that saw the lease unrenewed through the outage takes it at once; mirrors resume within their backoff.
      await managedIn("cart", (RETRY_SECONDS + 8) * 1000 + 10_000, "the deleted Sidecar to come back");
      await managedIn(`during-${outageSeconds}`, 20_000, "a Sidecar in the namespace enabled during the outage");
      const backAfterMs = Date.now() - backAt;
      const now = await leader();
      for (const replica of running) {
        if (replica === now) continue;
        // Not leading: it has exited, or it is a candidate whose mirrors are current (ready).
        if (alive(replica)) {
          assert.equal(await leaderMetric(replica), 0, `${replica.identity} does not claim to lead`);
          await waitFor(`${replica.identity} to be ready again`, 30_000, async () => ((await replica.process.readyz()) === 200 ? true : undefined), 500);
          assert.equal(logTime(replica, "leadership lost"), undefined, `${replica.identity} lost leadership yet lingers`);
        } else {
          assert.equal(replica.process.child.exitCode, 1);
        }
      }
      assert.ok(backAfterMs < 20_000, `Sidecars back ${backAfterMs} ms after the API returned`);
      await keepTwo();
    });
  }

  it("kube-apiserver restarted with etcd compacted past the controllers' resourceVersion: they list again and converge", async () => {
    // Two replicas whose mirrors have listed (ready), so each watches from a resourceVersion: a
    // replica just started by keepTwo may not have listed yet, and would only list, never resume.
    await keepTwo();
    const running = replicas.filter(alive);
    for (const replica of running)
      await waitFor(`${replica.identity} to have listed (ready)`, 60_000, async () => ((await replica.process.readyz()) === 200 ? true : undefined), 500);
    await leader();
    for (const replica of running) replica.proxy.blackhole();
    await cluster.createNamespace("after-compaction", { [ENABLED]: "true" });
    // Enough changes that the mirrors' resourceVersion falls behind what etcd keeps.
    for (let i = 0; i < 20; i++) await core.patchNamespace({ name: "search", body: { metadata: { annotations: { churn: String(i) } } } }, MERGE);
    await cluster.controlPlane.stopApiServer();
    await cluster.controlPlane.compactEtcd();
    await cluster.controlPlane.startApiServer();
    for (const replica of running) replica.proxy.pass();
    await managedIn("after-compaction", 60_000, "a Sidecar in the namespace enabled while the controllers were cut off");
    // Whichever replicas were cut off (the leader may have exited, deposed): their mirrors listed
    // again, as the log says, rather than trusting a resourceVersion etcd no longer holds.
    await waitFor(
      "a cut-off replica to list again after 410 Gone",
      60_000,
      () => (running.some((r) => r.process.logs.some((line) => line.msg === "watch cannot resume from its resourceVersion: listing again")) ? true : undefined),
      500,
    );
    await leader();
    await keepTwo();
  });

  it("across the whole run, no replica wrote while another held the lease (the audit log)", async () => {
    const records = await readAuditLog(cluster.controlPlane.auditLogPath!);
    const byReplicas = records.filter((r) => identityOf(r) !== undefined && r.resource !== "leases" && r.code < 300);
    assert.ok(byReplicas.length > 10, `the audit log holds the replicas' writes (${byReplicas.length})`);
    const leaseWrites = records.filter((r) => r.resource === "leases" && r.name === "mesh-tailor-controller" && r.code < 300);
    assert.ok(new Set(leaseWrites.map(identityOf)).size >= 3, "the lease changed hands across the run");
    const overlaps = leadershipOverlaps(records, { leaseNamespace: "mesh-tailor", leaseName: "mesh-tailor-controller", identityOf });
    assert.deepEqual(
      overlaps.map(
        (o) =>
          `${o.identity} ${o.record.verb} ${o.record.resource} ${o.record.namespace ?? ""}/${o.record.name ?? ""} while ${o.holderAtReceived ?? "nobody"} held the lease`,
      ),
      [],
    );
  });
});
