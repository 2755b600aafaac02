import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FakeApiServer, sendStatus } from "../../test/fixtures/fake-api-server.js";
import { KubeApi } from "../kube/client.js";
import { ApiError } from "../kube/errors.js";
import { nextReadAfterStandstill, runRollout, type RolloutEvent } from "./rollout.js";
import { CollectionReads, listIsCheaper } from "./rollout-collections.js";
import { collectionKey } from "./status.js";
import { startRestart } from "./rollout-restart.js";

// rollout against an API server that misbehaves (the real one restarts under it in the fault
// suite): an answer lost after the restart was applied, reads refused for a while, a workload
// already rolling out.

interface Deployment {
  metadata: { name: string; namespace: string; generation: number };
  spec: { replicas: number; template: { metadata: { annotations: Record<string, string> } } };
  status: { observedGeneration: number; replicas: number; updatedReplicas: number; availableReplicas: number };
}

const deployment = (name: string, rolling = false): Deployment => ({
  metadata: { name, namespace: "shop", generation: rolling ? 2 : 1 },
  spec: { replicas: 1, template: { metadata: { annotations: {} } } },
  status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
});

describe("rollout when the API server misbehaves", () => {
  let server: FakeApiServer;
  const deployments = new Map<string, Deployment>();
  let patches = 0;
  /** What happens to the next PATCH once applied: nothing, or the connection cut before the answer. */
  let cutAfterApplying = false;
  let refuseReads = 0;

  before(async () => {
    server = await new FakeApiServer().start();
    server.route((request, res) => {
      const match = /^\/apis\/apps\/v1\/namespaces\/shop\/deployments\/([^/?]+)/.exec(request.path);
      if (!match) return false;
      const found = deployments.get(match[1]!);
      if (!found) return (sendStatus(res, 404, "NotFound", "not found"), true);
      if (request.method === "PATCH") {
        patches += 1;
        const patch = JSON.parse(request.body) as { spec: { template: { metadata: { annotations: Record<string, string> } } } };
        Object.assign(found.spec.template.metadata.annotations, patch.spec.template.metadata.annotations);
        // The controller rolls it out at once in this stand-in.
        found.metadata.generation += 1;
        found.status.observedGeneration = found.metadata.generation;
        if (cutAfterApplying) {
          cutAfterApplying = false;
          res.socket?.destroy();
          return true;
        }
      } else if (refuseReads > 0) {
        refuseReads -= 1;
        sendStatus(res, 503, "ServiceUnavailable", "the API server is restarting");
        return true;
      }
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(found));
      return true;
    });
  });
  after(() => server.stop());

  it("never sends a restart twice when its answer was lost: it reads the workload back first", async () => {
    deployments.set("reviews", deployment("reviews"));
    patches = 0;
    cutAfterApplying = true;
    const api = new KubeApi(server.source());
    const start = await startRestart(api, { namespace: "shop", kind: "Deployment", name: "reviews" }, Date.now() + 10_000);
    assert.equal(start.kind, "restarted");
    assert.equal(patches, 1, "one restart, though its answer never came");
    assert.equal(
      deployments.get("reviews")!.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"],
      start.kind === "restarted" ? start.restartedAt : "",
    );
    api.close();
  });

  it("follows a workload already rolling out instead of restarting it again", async () => {
    deployments.set("ratings", deployment("ratings", true));
    patches = 0;
    const api = new KubeApi(server.source());
    const start = await startRestart(api, { namespace: "shop", kind: "Deployment", name: "ratings" }, Date.now() + 10_000);
    assert.equal(start.kind, "following");
    assert.equal(patches, 0);
    api.close();
  });

  it("waits through refused reads within the timeout instead of failing the workload", async () => {
    deployments.set("details", deployment("details"));
    const api = new KubeApi(server.source());
    const events: RolloutEvent[] = [];
    refuseReads = 0;
    const result = await runRollout(
      api,
      { restart: [{ namespace: "shop", kind: "Deployment", name: "details" }], refused: [], skipped: [] },
      { maxInFlight: 1, pauseMs: 0, timeoutMs: 30_000, pollMs: 50 },
      (event) => {
        events.push(event);
        // The API server goes away just after the restart went through.
        if (event.event === "started") refuseReads = 3;
      },
    );
    assert.deepEqual(result.failed, []);
    assert.equal(result.done.length, 1);
    assert.ok(
      events.some((e) => e.event === "progress" && /cannot read it, retrying: .*503/.test(e.message)),
      "the outage was seen and waited through",
    );
    api.close();
  });
});

describe("rollout by namespace", () => {
  // A cluster in memory where a restarted Deployment is rolled out after its second read.
  function memoryApi() {
    const reads = new Map<string, number>();
    const generations = new Map<string, number>();
    const workload = (path: string) => {
      const generation = generations.get(path) ?? 1;
      const rolledOut = (reads.get(path) ?? 0) >= 2 || generation === 1;
      return {
        metadata: { name: path.split("/").pop()!, namespace: path.split("/")[5]!, generation },
        spec: { replicas: 1, template: { metadata: { annotations: {} } } },
        status: { observedGeneration: generation, replicas: 1, updatedReplicas: rolledOut ? 1 : 0, availableReplicas: rolledOut ? 1 : 0 },
      };
    };
    return {
      get: (path: string) => {
        if (generations.has(path)) reads.set(path, (reads.get(path) ?? 0) + 1);
        return Promise.resolve(workload(path)) as never;
      },
      request: (_method: string, path: string) => {
        generations.set(path, 2);
        return Promise.resolve({}) as never;
      },
      list: () => Promise.resolve({ items: [], resourceVersion: "1" }) as never,
    };
  }
  const targets = ["a/one", "a/two", "a/three", "b/one", "b/two", "c/one"].map((t) => {
    const [namespace, name] = t.split("/") as [string, string];
    return { namespace, kind: "Deployment" as const, name };
  });

  /** The most namespaces in flight at once over the run, and whether every workload finished. */
  async function run(order: "namespace" | "workload") {
    const inFlight = new Set<string>();
    let mostNamespaces = 0;
    const result = await runRollout(
      memoryApi(),
      { restart: targets, refused: [], skipped: [] },
      { maxInFlight: 3, pauseMs: 0, timeoutMs: 10_000, pollMs: 5, order },
      (event) => {
        const key = `${event.target.namespace}/${event.target.name}`;
        if (event.event === "started") inFlight.add(key);
        if (event.event === "done" || event.event === "failed") inFlight.delete(key);
        mostNamespaces = Math.max(mostNamespaces, new Set([...inFlight].map((k) => k.split("/")[0])).size);
      },
    );
    return { mostNamespaces, done: result.done.length, failed: result.failed };
  }

  it("finishes one namespace before it starts the next", async () => {
    const byNamespace = await run("namespace");
    assert.deepEqual(byNamespace, { mostNamespaces: 1, done: 6, failed: [] });
    // The default mixes namespaces as the in-flight limit allows: the test can tell the two apart.
    const byWorkload = await run("workload");
    assert.equal(byWorkload.done, 6);
    assert.ok(byWorkload.mostNamespaces > 1, `workload order kept ${byWorkload.mostNamespaces} namespace in flight`);
  });
});

describe("rollout's reads of a workload the cluster is slow to bring up", () => {
  it("reads it less often while its progress stands still: POLL doubled per unchanged read, at most 8 × POLL, never past its deadline", async () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 10].map((n) => nextReadAfterStandstill(0, 1_000, n, 60_000)),
      [1_000, 2_000, 4_000, 8_000, 8_000, 8_000],
    );
    assert.equal(nextReadAfterStandstill(55_000, 1_000, 3, 60_000), 60_000, "read at its deadline, not 3 s after it");
    // Restarted, then stuck at no updated replica for 400 ms, then rolled out.
    let restartedAt: number | undefined;
    let reads = 0;
    const api = {
      get: () => {
        if (restartedAt !== undefined) reads += 1;
        const rolledOut = restartedAt === undefined || Date.now() - restartedAt >= 400;
        const generation = restartedAt === undefined ? 1 : 2;
        return Promise.resolve({
          metadata: { name: "slow", namespace: "shop", generation },
          spec: { replicas: 1, template: { metadata: { annotations: {} } } },
          status: { observedGeneration: generation, replicas: 1, updatedReplicas: rolledOut ? 1 : 0, availableReplicas: rolledOut ? 1 : 0 },
        }) as never;
      },
      request: () => {
        restartedAt = Date.now();
        return Promise.resolve({}) as never;
      },
      list: () => Promise.resolve({ items: [], resourceVersion: "1" }) as never,
    };
    const result = await runRollout(
      api,
      { restart: [{ namespace: "shop", kind: "Deployment", name: "slow" }], refused: [], skipped: [] },
      { maxInFlight: 1, pauseMs: 0, timeoutMs: 10_000, pollMs: 10 },
      () => undefined,
    );
    assert.deepEqual([result.done.length, result.failed], [1, []]);
    // Read every 10 ms, 400 ms would take about 40 reads; with the backoff, about 8 (a slower
    // machine only reads less).
    assert.ok(reads <= 12, `${reads} reads of a workload that stood still for 400 ms`);
  });
});

describe("rollout's reads of a namespace's workloads in flight together", () => {
  // A namespace of TOTAL Deployments in memory; one restarted is rolled out on its second read
  // after the restart, by GET or by LIST alike.
  function namespaceApi(total: number, failLists = 0) {
    const calls = { gets: 0, lists: 0, failedLists: 0 };
    const readsSinceRestart = new Map<string, number>();
    const object = (name: string) => {
      const reads = readsSinceRestart.get(name);
      const generation = reads === undefined ? 1 : 2;
      const rolledOut = reads === undefined || reads >= 2;
      return {
        metadata: { name, namespace: "shop", generation },
        spec: { replicas: 1, template: { metadata: { annotations: {} } } },
        status: { observedGeneration: generation, replicas: 1, updatedReplicas: rolledOut ? 1 : 0, availableReplicas: rolledOut ? 1 : 0 },
      };
    };
    const read = (name: string) => {
      const reads = readsSinceRestart.get(name);
      if (reads !== undefined) readsSinceRestart.set(name, reads + 1);
      return object(name);
    };
    const names = Array.from({ length: total }, (_, i) => `svc-${i}`);
    const api = {
      get: (path: string) => {
        calls.gets += 1;
        return Promise.resolve(read(path.split("/").pop()!)) as never;
      },
      request: (_method: string, path: string) => {
        readsSinceRestart.set(path.split("/").pop()!, 0);
        return Promise.resolve({}) as never;
      },
      list: (path: string) => {
        assert.equal(path, "/apis/apps/v1/namespaces/shop/deployments");
        calls.lists += 1;
        if (calls.failedLists < failLists) {
          calls.failedLists += 1;
          return Promise.reject(new Error("the API server is away")) as never;
        }
        return Promise.resolve({ items: names.map(read), resourceVersion: "1" }) as never;
      },
    };
    const restart = names.map((name) => ({ namespace: "shop", kind: "Deployment", name }));
    return { api, calls, restart };
  }

  it("reads them with one LIST a cycle, not a GET each, when the namespace holds few more than are in flight", async () => {
    const { api, calls, restart } = namespaceApi(10);
    const collectionSizes = new Map([[collectionKey(restart[0]!), 10]]);
    const options = { maxInFlight: 10, pauseMs: 0, timeoutMs: 10_000, pollMs: 5, collectionSizes };
    const result = await runRollout(api, { restart, refused: [], skipped: [] }, options, () => undefined);
    assert.deepEqual([result.done.length, result.failed], [10, []]);
    // Each restart reads its workload first (startRestart); every read after it was a LIST.
    assert.equal(calls.gets, 10, "a GET per workload only to start it");
    assert.ok(calls.lists >= 2 && calls.lists <= 4, `${calls.lists} LISTs for 10 workloads rolled out on their second read`);
  });

  it("reads each on its own where a LIST would send far more than it answers, or rollout is not told how big the namespace is", async () => {
    for (const collectionSizes of [new Map([["shop/Deployment", 200]]), undefined]) {
      const { api, calls, restart } = namespaceApi(10);
      const options = { maxInFlight: 10, pauseMs: 0, timeoutMs: 10_000, pollMs: 5, collectionSizes };
      const result = await runRollout(api, { restart, refused: [], skipped: [] }, options, () => undefined);
      assert.deepEqual([result.done.length, result.failed, calls.lists], [10, [], 0]);
    }
  });

  it("falls back to a GET each when the LIST fails, and still finishes every workload", async () => {
    const { api, calls, restart } = namespaceApi(4, Infinity);
    const options = { maxInFlight: 4, pauseMs: 0, timeoutMs: 10_000, pollMs: 5, collectionSizes: new Map([["shop/Deployment", 4]]) };
    const result = await runRollout(api, { restart, refused: [], skipped: [] }, options, () => undefined);
    assert.deepEqual([result.done.length, result.failed], [4, []]);
    assert.ok(calls.failedLists >= 1, "a LIST was tried");
    assert.ok(calls.gets > 4, `${calls.gets} GETs: the workloads were read on their own while the LIST failed`);
  });

  it("decides by how many it answers and how big the collection is", () => {
    assert.deepEqual(
      [listIsCheaper(1, 1), listIsCheaper(2, 8), listIsCheaper(2, 9), listIsCheaper(50, 200), listIsCheaper(10, undefined)],
      [false, true, false, true, false],
    );
  });
});

describe("rollout's LIST of a collection (CollectionReads)", () => {
  const workload = (name: string) => ({ metadata: { name, namespace: "data" } });
  const inFlight = (...names: string[]) => new Map(names.map((name) => [{ namespace: "data", kind: "StatefulSet", name }, { nextReadMs: 0 }]));

  /** An API whose LIST answers with ANSWER's items, or throws what it returns. */
  function listing(answer: () => { items: { metadata: { name: string; namespace: string } }[] } | Error) {
    const paths: string[] = [];
    const api = {
      list: (path: string) => {
        paths.push(path);
        const result = answer();
        return (result instanceof Error ? Promise.reject(result) : Promise.resolve({ ...result, resourceVersion: "1" })) as never;
      },
    };
    return { api, paths };
  }

  it("reads the namespace's collection of the workloads' kind, and answers only for those in flight that it holds", async () => {
    const { api, paths } = listing(() => ({ items: ["a", "b", "other"].map(workload) }));
    const reads = new CollectionReads(api, new Map([["data/StatefulSet", 3]]), 1_000);
    const flight = inFlight("a", "b", "gone");
    const read = await reads.read(flight);
    assert.deepEqual(paths, ["/apis/apps/v1/namespaces/data/statefulsets"]);
    assert.deepEqual(
      [...flight.keys()].map((t) => read.get(t)?.object.metadata.name),
      ["a", "b", undefined],
      "a workload the LIST does not hold is left to its own GET (which fails it if it is gone)",
    );
  });

  it("trusts the LIST's count over status's: a collection grown past the bound is read by GETs from then on", async () => {
    const { api, paths } = listing(() => ({ items: Array.from({ length: 100 }, (_, i) => workload(`w${i}`)) }));
    const reads = new CollectionReads(api, new Map([["data/StatefulSet", 8]]), 1_000);
    await reads.read(inFlight("w1", "w2"));
    assert.equal((await reads.read(inFlight("w1", "w2"))).size, 0);
    assert.equal(paths.length, 1);
  });

  it("leaves a collection to GETs for good when its LIST is refused, and for a while when the API server is away", async () => {
    const refused = listing(() => new ApiError(403, "Forbidden", "cannot list statefulsets"));
    const byRefused = new CollectionReads(refused.api, new Map([["data/StatefulSet", 2]]), 1);
    await byRefused.read(inFlight("a", "b"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await byRefused.read(inFlight("a", "b"));
    assert.equal(refused.paths.length, 1, "a refused LIST is not asked again");

    let away = true;
    const outage = listing(() => (away ? new ApiError(503, "ServiceUnavailable", "restarting") : { items: ["a", "b"].map(workload) }));
    const byOutage = new CollectionReads(outage.api, new Map([["data/StatefulSet", 2]]), 1_000);
    await byOutage.read(inFlight("a", "b"));
    away = false;
    assert.equal((await byOutage.read(inFlight("a", "b"))).size, 0, "not asked again at once after an outage");
    assert.equal(outage.paths.length, 1);
    // Asked again after its backoff (2 × the poll after one failure: 2 s), within a bound.
    const until = Date.now() + 15_000;
    let answered: number;
    while ((answered = (await byOutage.read(inFlight("a", "b"))).size) !== 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.equal(answered, 2, "the LIST was not asked again within 15 s of an outage that ended (its backoff is 2 s)");
  });
});
