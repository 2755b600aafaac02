import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FakeApiServer, sendStatus } from "../../test/fixtures/fake-api-server.js";
import { KubeApi } from "./client.js";
import { ApiError, isResourceVersionTooLarge } from "./errors.js";

/** What a request ended with, for an assertion's message. */
const said = (outcome: unknown): string => (outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : JSON.stringify(outcome));

const elapsed = async <T>(work: () => Promise<T>): Promise<{ ms: number; outcome: T | Error }> => {
  const started = performance.now();
  let outcome: T | Error;
  try {
    outcome = await work();
  } catch (error) {
    outcome = error as Error;
  }
  return { ms: performance.now() - started, outcome };
};

describe("the Kubernetes client", () => {
  let server: FakeApiServer;
  before(async () => {
    server = await new FakeApiServer().start();
    server.route((request, res) => {
      if (request.path.startsWith("/echo")) {
        res
          .writeHead(200, { "Content-Type": "application/json" })
          .end(JSON.stringify({ metadata: { name: "echo" }, method: request.method, body: request.body, length: request.headers["content-length"] ?? null }));
        return true;
      }
      if (request.path.startsWith("/paged")) {
        // Two pages of whole objects, the second behind a continue token.
        const second = new URL(request.path, "http://x").searchParams.get("continue") === "page-2";
        const names = second ? ["c"] : ["a", "b"];
        const items = names.map((name) => ({ metadata: { name, managedFields: [{ manager: "kubectl" }] }, status: { podIP: "10.0.0.1" } }));
        res
          .writeHead(200, { "Content-Type": "application/json" })
          .end(JSON.stringify({ metadata: second ? { resourceVersion: "9" } : { continue: "page-2" }, items }));
        return true;
      }
      if (request.path.startsWith("/too-large")) {
        sendStatus(res, 504, "Timeout", "Timeout: Too large resource version: 159, current: 140", {
          details: { causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }] },
        });
        return true;
      }
      return false;
    });
  });
  after(() => server.stop());

  it("sends a DELETE's body with its length, so the server reads it and the connection serves the next request", async () => {
    const api = new KubeApi(server.source());
    const preconditions = { uid: "not-the-one" };
    const deleted = await api.request<{ method: string; body: string; length: string | null }>("DELETE", "/echo/delete", {
      body: { kind: "DeleteOptions", apiVersion: "v1", preconditions },
    });
    assert.equal(deleted.method, "DELETE");
    assert.deepEqual((JSON.parse(deleted.body) as { preconditions: unknown }).preconditions, preconditions, "the server saw the precondition");
    assert.equal(Number(deleted.length), Buffer.byteLength(deleted.body));
    const next = await api.request<{ method: string }>("GET", "/echo/after");
    assert.equal(next.method, "GET");
    const [first, second] = server.seen.filter((r) => r.path.startsWith("/echo/")).slice(-2);
    assert.equal(first!.connection, second!.connection, "the kept-alive connection was reused, and answered");
    api.close();
  });

  it("ends a stalled request at its deadline, and a slow one that answers in time is answered", async () => {
    const api = new KubeApi(server.source());
    server.misbehave({ kind: "stall" }, (r) => r.path === "/echo/stalled");
    const stalled = await elapsed(() => api.request("GET", "/echo/stalled", { timeoutMs: 300 }));
    assert.ok(stalled.outcome instanceof ApiError && stalled.outcome.reason === "Timeout", said(stalled.outcome));
    assert.ok(stalled.ms >= 290 && stalled.ms < 3_000, `cut off after ${stalled.ms} ms`);
    server.misbehave({ kind: "slow", ms: 200 }, (r) => r.path === "/echo/slow");
    const slow = await api.request<{ method: string }>("GET", "/echo/slow", { timeoutMs: 5_000 });
    assert.equal(slow.method, "GET");
    api.close();
  });

  it("cancels a request when its signal aborts, at once, and sends nothing once the fence refuses", async () => {
    const api = new KubeApi(server.source());
    server.misbehave({ kind: "stall" }, (r) => r.path === "/echo/cancelled");
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const cancelled = await elapsed(() => api.request("GET", "/echo/cancelled", { signal: controller.signal, timeoutMs: 10_000 }));
    assert.ok(cancelled.outcome instanceof ApiError && cancelled.outcome.reason === "Aborted", said(cancelled.outcome));
    assert.ok(cancelled.ms < 2_000, `cancelled after ${cancelled.ms} ms`);
    const before = server.seen.length;
    const fenced = await elapsed(() =>
      api.request("PUT", "/echo/fenced", {
        body: {},
        fence: () => {
          throw new Error("no longer the leader");
        },
      }),
    );
    assert.match(said(fenced.outcome), /no longer the leader/);
    assert.equal(server.seen.length, before, "the fenced write never reached the server");
    api.close();
  });

  it("lists every page, keeping of each object only what the caller's keep leaves", async () => {
    const api = new KubeApi(server.source());
    const list = await api.list("/paged", {}, { keep: (object) => ({ metadata: { name: object.metadata.name } }) });
    assert.deepEqual(list, { items: [{ metadata: { name: "a" } }, { metadata: { name: "b" } }, { metadata: { name: "c" } }], resourceVersion: "9" });
    assert.notEqual((await api.list("/paged")).items[2]!["status"], undefined, "without keep, objects come whole");
    api.close();
  });

  it("reports a dropped connection as unreachable", async () => {
    const api = new KubeApi(server.source());
    server.misbehave({ kind: "drop" }, (r) => r.path === "/echo/dropped");
    const dropped = await elapsed(() => api.request("GET", "/echo/dropped"));
    assert.ok(dropped.outcome instanceof ApiError && dropped.outcome.status === 0 && dropped.outcome.reason === "Unreachable", said(dropped.outcome));
    api.close();
  });

  it("reads the credentials again after a 401 and tries once more", async () => {
    const source = server.source(["expired", "fresh"]);
    const api = new KubeApi(source);
    const answer = await api.request<{ method: string }>("GET", "/echo/auth");
    assert.equal(answer.method, "GET");
    const tokens = server.seen.filter((r) => r.path === "/echo/auth").map((r) => r.headers.authorization);
    assert.deepEqual(tokens, ["Bearer expired", "Bearer fresh"]);
    api.close();
  });

  it("knows a resourceVersion the server has not reached (504 ResourceVersionTooLarge)", async () => {
    const api = new KubeApi(server.source());
    const failure = await elapsed(() => api.request("GET", "/too-large"));
    assert.ok(isResourceVersionTooLarge(failure.outcome), said(failure.outcome));
    assert.ok(!isResourceVersionTooLarge(new ApiError(504, "Timeout", "the request timed out")));
    api.close();
  });

  it("ends a watch that stays silent past its bound, and turns an ERROR event into an ApiError", async () => {
    server.route((request, res) => {
      if (!request.path.startsWith("/watch/")) return false;
      res.writeHead(200, { "Content-Type": "application/json" });
      if (request.path.startsWith("/watch/silent"))
        res.write(JSON.stringify({ type: "ADDED", object: { metadata: { name: "a", resourceVersion: "2" } } }) + "\n");
      else
        res.end(
          JSON.stringify({
            type: "ERROR",
            object: {
              kind: "Status",
              code: 504,
              reason: "Timeout",
              message: "Too large resource version",
              details: { causes: [{ reason: "ResourceVersionTooLarge" }] },
            },
          }) + "\n",
        );
      return true;
    });
    const api = new KubeApi(server.source(), { watchSilenceGraceMs: 300 });
    const events: string[] = [];
    const watchFailure = await elapsed(() => api.watch("/watch/too-large", { timeoutSeconds: 1 }, (e) => events.push(e.type)));
    assert.ok(isResourceVersionTooLarge(watchFailure.outcome), said(watchFailure.outcome));
    const silent = await elapsed(() => api.watch("/watch/silent", { timeoutSeconds: 0 }, (e) => events.push(e.type)));
    assert.ok(silent.outcome instanceof ApiError && silent.outcome.reason === "Timeout", said(silent.outcome));
    assert.match((silent.outcome as Error).message, /silent for 0\.3 s/);
    assert.deepEqual(events, ["ADDED"]);
    api.close();
  });
});
