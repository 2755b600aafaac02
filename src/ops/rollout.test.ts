import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FakeApiServer, sendStatus } from "../../test/fixtures/fake-api-server.js";
import { KubeApi } from "../kube/client.js";
import { runRollout, type RolloutEvent } from "./rollout.js";
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
