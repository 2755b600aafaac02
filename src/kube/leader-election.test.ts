import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import pino from "pino";
import { FakeApiServer } from "../../test/fixtures/fake-api-server.js";
import { KubeApi } from "./client.js";
import { monotonicMs } from "./clock.js";
import { leaseAction, LeaderElector, microTime, NotLeaderError, type LeaderTerm } from "./leader-election.js";

describe("leader election decisions", () => {
  const held = { holderIdentity: "b", leaseDurationSeconds: 15, renewTime: "2026-11-23T10:00:00.000000Z" };

  it("takes a lease nobody holds, or one released on purpose", () => {
    assert.equal(leaseAction(undefined, "a", undefined, 0).action, "acquire");
    assert.equal(leaseAction({ ...held, holderIdentity: "" }, "a", undefined, 0).action, "acquire");
  });

  it("renews its own lease", () => {
    assert.equal(leaseAction({ ...held, holderIdentity: "a" }, "a", undefined, 0).action, "renew");
  });

  it("waits while another holder keeps renewing, judged by its own clock", () => {
    const first = leaseAction(held, "a", undefined, 1_000);
    assert.equal(first.action, "wait");
    // The same record 16 s later by this clock: expired, whatever renewTime says.
    assert.equal(leaseAction(held, "a", first.observation, 17_001).action, "acquire");
    // A renewal (new renewTime) restarts the count.
    const renewed = leaseAction({ ...held, renewTime: "2026-11-23T10:00:14.000000Z" }, "a", first.observation, 15_000);
    assert.equal(renewed.action, "wait");
    assert.equal(leaseAction({ ...held, renewTime: "2026-11-23T10:00:14.000000Z" }, "a", renewed.observation, 29_000).action, "wait");
  });

  it("writes MicroTime with microseconds", () => {
    assert.equal(microTime(Date.UTC(2026, 10, 23, 10, 0, 0, 123)), "2026-11-23T10:00:00.123000Z");
  });
});

// Short timings, in client-go's proportions: the leader gives up (1.6 s) before a candidate may
// take over (2.4 s), and retries well within that (0.2 s).
const TIMING = { leaseSeconds: 2.4, renewDeadlineSeconds: 1.6, retrySeconds: 0.2 };
const LEASE = "/apis/coordination.k8s.io/v1/namespaces/mesh-tailor/leases/lock";
const logger = pino({ level: "silent" });

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** An elector against SERVER, with what happened to it. */
function candidate(server: FakeApiServer, identity: string, clock?: () => number) {
  const api = new KubeApi(server.source());
  const seen = { term: undefined as LeaderTerm | undefined, lostAt: undefined as number | undefined, why: "" };
  const elector = new LeaderElector({
    api,
    logger,
    identity,
    namespace: "mesh-tailor",
    name: "lock",
    ...TIMING,
    ...(clock ? { clock } : {}),
    onStartedLeading: (term) => (seen.term = term),
    onStoppedLeading: (why) => {
      seen.lostAt = performance.now();
      seen.why = why;
    },
  });
  return { api, elector, seen, running: elector.start() };
}

describe("leader election against an API server that misbehaves", () => {
  let server: FakeApiServer;
  const started: ReturnType<typeof candidate>[] = [];
  const elect = (identity: string, clock?: () => number) => {
    const made = candidate(server, identity, clock);
    started.push(made);
    return made;
  };
  before(async () => {
    server = await new FakeApiServer().start();
  });
  beforeEach(() => {
    server.calm();
  });
  afterEach(async () => {
    for (const made of started.splice(0)) {
      await made.elector.stop();
      made.api.close();
    }
  });
  after(() => server.stop());

  it("takes a free lease and renews it; its term's fence lets writes through", async () => {
    const a = elect("a");
    await until("a to lead", () => a.seen.term !== undefined);
    a.seen.term!.fence();
    const renewals = () => server.seen.filter((r) => r.method === "PUT" && r.path === LEASE).length;
    const before = renewals();
    await until("two renewals", () => renewals() >= before + 2);
    assert.equal(server.leases.get("mesh-tailor/lock")!.spec["holderIdentity"], "a");
    assert.equal(a.seen.lostAt, undefined);
    await a.elector.stop();
    assert.ok(a.seen.term!.signal.aborted, "stopping ends the term");
    assert.throws(() => a.seen.term!.fence(), NotLeaderError);
    a.api.close();
  });

  it("stops leading at the renew deadline when its renewal stalls, aborting the stalled request", async () => {
    const a = elect("a");
    await until("a to lead", () => a.seen.term !== undefined);
    const lastRenewal = performance.now();
    // Every lease request from now on stalls: the connection is alive, the server never answers.
    for (let i = 0; i < 20; i++) server.misbehave({ kind: "stall" }, (r) => r.path.startsWith(LEASE));
    await until("a to lose", () => a.seen.lostAt !== undefined, 5_000);
    const lostAfter = a.seen.lostAt! - lastRenewal;
    // The safety that matters: it stops before any candidate could take the lease.
    assert.ok(lostAfter < TIMING.leaseSeconds * 1000, `lost ${Math.round(lostAfter)} ms after its last renewal, before the lease could pass`);
    assert.match(a.seen.why, /not renewed within 1\.6 s/);
    assert.ok(a.seen.term!.signal.aborted);
    await a.running;
    a.api.close();
  });

  it("loses at once on seeing another holder", async () => {
    const a = elect("a");
    await until("a to lead", () => a.seen.term !== undefined);
    const current = server.leases.get("mesh-tailor/lock")!;
    server.store("mesh-tailor/lock", { metadata: { name: "lock" }, spec: { ...current.spec, holderIdentity: "b" } });
    const changedAt = performance.now();
    await until("a to lose", () => a.seen.lostAt !== undefined, 3_000);
    assert.ok(a.seen.lostAt! - changedAt < 600, "within a retry period or two, not after the renew deadline");
    assert.match(a.seen.why, /held by b/);
    a.api.close();
  });

  it("refuses writes by the monotonic clock once the deadline has passed, before any timer has run", async () => {
    let skew = 0;
    const clock = () => monotonicMs() + skew;
    const a = elect("a", clock);
    await until("a to lead", () => a.seen.term !== undefined);
    a.seen.term!.fence();
    // As a process resumed after SIGSTOP sees it: the clock has moved on, no timer has fired yet.
    skew = 60_000;
    assert.throws(() => a.seen.term!.fence(), NotLeaderError);
    await until("a to lose", () => a.seen.lostAt !== undefined, 3_000);
    a.api.close();
  });

  it("hands over: a standby takes the lease only after it went unrenewed for a lease duration, or at once when released", async () => {
    const a = elect("a");
    await until("a to lead", () => a.seen.term !== undefined);
    const b = elect("b");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(b.seen.term, undefined, "b waits while a renews");
    await a.elector.stop();
    await a.elector.release();
    const releasedAt = performance.now();
    await until("b to lead", () => b.seen.term !== undefined, 3_000);
    assert.ok(performance.now() - releasedAt < 1_000, "a released lease is free at once");
    // a stops renewing without releasing: c takes over only after the lease went unrenewed.
    const c = elect("c");
    await b.elector.stop();
    const stoppedAt = performance.now();
    await until("c to lead", () => c.seen.term !== undefined, 5_000);
    assert.ok(performance.now() - stoppedAt >= TIMING.leaseSeconds * 1000 - 50, "not before the lease expired by c's clock");
    await c.elector.stop();
    for (const x of [a, b, c]) x.api.close();
  });
});
