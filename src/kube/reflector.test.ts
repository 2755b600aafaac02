import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import { type KubeObject, type WatchEvent } from "./object.js";
import { ApiError } from "./errors.js";
import { Reflector, type ListWatchApi } from "./reflector.js";

// A scripted API server: each LIST and WATCH call takes the next step of its script. The real
// kube-apiserver is behind this boundary in the end-to-end suite (restarts included); here the
// cases it cannot be made to produce on demand: 410 Gone, and a watch that errors.
type WatchStep = { events: WatchEvent[]; end: "close" | ApiError };
class ScriptedApi implements ListWatchApi {
  readonly calls: string[] = [];
  constructor(
    private readonly lists: { items: KubeObject[]; resourceVersion: string }[],
    private readonly watches: WatchStep[],
  ) {}
  list(path: string, query?: Record<string, string | number | boolean | undefined>) {
    this.calls.push(`list ${path} ${JSON.stringify(query ?? {})}`);
    const next = this.lists.shift();
    if (!next) return Promise.reject(new Error("no more lists scripted"));
    return Promise.resolve(next as { items: never[]; resourceVersion: string });
  }
  async watch(path: string, query: Record<string, string | number | boolean | undefined>, onEvent: (event: WatchEvent) => void, signal?: AbortSignal) {
    this.calls.push(`watch ${path} rv=${query["resourceVersion"]}`);
    const step = this.watches.shift();
    if (!step) {
      await new Promise<void>((resolve) => signal?.addEventListener("abort", () => resolve(), { once: true }));
      return;
    }
    for (const event of step.events) onEvent(event);
    if (step.end !== "close") throw step.end;
  }
}

const ns = (name: string, resourceVersion: string): KubeObject => ({ metadata: { name, resourceVersion } });
const logger = pino({ level: "silent" });

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("the list + watch mirror", () => {
  it("lists, then watches from the list's resourceVersion and resumes from the last event's", async () => {
    const api = new ScriptedApi(
      [{ items: [ns("shop", "10")], resourceVersion: "11" }],
      [
        {
          events: [
            { type: "ADDED", object: ns("cart", "12") },
            { type: "BOOKMARK", object: ns("", "15") },
          ],
          end: "close",
        },
        { events: [{ type: "DELETED", object: ns("shop", "16") }], end: "close" },
      ],
    );
    const changes: string[] = [];
    const reflector = new Reflector({
      api,
      logger,
      path: "/api/v1/namespaces",
      resource: "namespaces",
      onChange: (key, object) => changes.push(`${object ? "+" : "-"}${key}`),
    });
    reflector.start();
    await until("the third watch", () => api.calls.length === 4);
    await reflector.stop();
    assert.deepEqual(
      api.calls.map((c) => c.split(" ")[0] + (c.includes("rv=") ? ` ${c.slice(c.indexOf("rv="))}` : "")),
      ["list", "watch rv=11", "watch rv=15", "watch rv=16"],
    );
    assert.deepEqual(changes, ["+shop", "+cart", "-shop"]);
    assert.deepEqual([...reflector.store.keys()], ["cart"]);
  });

  it("lists again on 410 Gone, reporting what vanished meanwhile", async () => {
    const api = new ScriptedApi(
      [
        { items: [ns("shop", "10"), ns("cart", "10")], resourceVersion: "11" },
        { items: [ns("shop", "10"), ns("search", "30")], resourceVersion: "31" },
      ],
      [{ events: [], end: new ApiError(410, "Expired", "too old resource version") }],
    );
    const changes: string[] = [];
    const restarts: string[] = [];
    const reflector = new Reflector({
      api,
      logger,
      path: "/api/v1/namespaces",
      resource: "namespaces",
      onChange: (key, object) => changes.push(`${object ? "+" : "-"}${key}`),
      onRestart: (reason) => restarts.push(reason),
    });
    reflector.start();
    await until("the watch after the second list", () => api.calls.filter((c) => c.startsWith("watch")).length === 2);
    await reflector.stop();
    assert.equal(api.calls.at(-1), "watch /api/v1/namespaces rv=31");
    // shop is unchanged (same resourceVersion): not reported again.
    assert.deepEqual(changes, ["+shop", "+cart", "+search", "-cart"]);
    assert.deepEqual(restarts, ["gone"]);
    assert.ok(reflector.synced);
  });

  it("retries a failed watch from where it was, with backoff, without listing again", async () => {
    const api = new ScriptedApi(
      [{ items: [], resourceVersion: "5" }],
      [{ events: [{ type: "ADDED", object: ns("shop", "6") }], end: new ApiError(0, "Unreachable", "connection refused") }],
    );
    const restarts: string[] = [];
    const reflector = new Reflector({
      api,
      logger,
      path: "/api/v1/namespaces",
      resource: "namespaces",
      onChange: () => undefined,
      onRestart: (reason) => restarts.push(reason),
    });
    reflector.start();
    await until("the retried watch", () => api.calls.length === 3);
    await reflector.stop();
    assert.equal(api.calls[2], "watch /api/v1/namespaces rv=6");
    assert.deepEqual(restarts, ["error"]);
  });

  it("lists again from the newest state when its resourceVersion is one the server has not reached", async () => {
    const tooLarge = new ApiError(504, "Timeout", "watch: 504 Timeout: Too large resource version: 90, current: 40", [{ reason: "ResourceVersionTooLarge" }]);
    const api = new ScriptedApi(
      [
        { items: [ns("shop", "10")], resourceVersion: "90" },
        { items: [ns("shop", "10")], resourceVersion: "41" },
      ],
      [{ events: [], end: tooLarge }],
    );
    const restarts: string[] = [];
    const reflector = new Reflector({
      api,
      logger,
      path: "/api/v1/namespaces",
      resource: "namespaces",
      onChange: () => undefined,
      onRestart: (reason) => restarts.push(reason),
    });
    reflector.start();
    await until("the watch after the second list", () => api.calls.filter((c) => c.startsWith("watch")).length === 2);
    await reflector.stop();
    assert.deepEqual(
      api.calls.map((c) => c.split(" ")[0]),
      ["list", "watch", "list", "watch"],
    );
    assert.equal(api.calls.at(-1), "watch /api/v1/namespaces rv=41");
    assert.deepEqual(restarts, ["gone"]);
  });

  it("says it is stale until it has listed, and when it has heard nothing for longer than a watch can stay quiet", async () => {
    let now = 0;
    const api = new ScriptedApi([{ items: [], resourceVersion: "5" }], []);
    const reflector = new Reflector({
      api,
      logger,
      path: "/api/v1/namespaces",
      resource: "namespaces",
      onChange: () => undefined,
      watchSeconds: 10,
      clock: () => now,
    });
    assert.match(reflector.staleness() ?? "", /namespaces not listed yet/);
    reflector.start();
    await until("the list", () => reflector.synced);
    assert.equal(reflector.staleness(), undefined);
    now = reflector.silenceBoundMs + 1;
    assert.match(reflector.staleness() ?? "", /namespaces: no word from the API server for \d+ s/);
    await reflector.stop();
  });
});
