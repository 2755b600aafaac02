import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import type { RequestOptions } from "../kube/client.js";
import { EventRecorder } from "../kube/events.js";
import { NotLeaderError, type LeaderTerm } from "../kube/leader-election.js";
import type { KubeObject, WatchEvent } from "../kube/object.js";
import { loadPolicy } from "../policy/load.js";
import { ControllerMetrics } from "./metrics.js";
import { NamespaceController } from "./namespace-controller.js";

// The controller's writes under a leader term, against an in-memory API (the real kube-apiserver
// is behind this boundary in the e2e and fault suites). What matters here cannot be timed from
// outside a process: a term that ends between a decision and its write.

const policy = loadPolicy("apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n");
const logger = pino({ level: "silent" });
const managed: KubeObject = {
  metadata: { name: "default", namespace: "gone", uid: "uid-1", resourceVersion: "7", labels: { "app.kubernetes.io/managed-by": "mesh-tailor" } },
  spec: { egress: [{ hosts: ["./*", "istio-system/*"] }] },
};

class MemoryApi {
  readonly writes: { method: string; path: string; options: RequestOptions }[] = [];
  constructor(private readonly collections: Record<string, KubeObject[]>) {}
  list<T extends KubeObject = KubeObject>(path: string): Promise<{ items: T[]; resourceVersion: string }> {
    return Promise.resolve({ items: (this.collections[path] ?? []) as T[], resourceVersion: "10" });
  }
  async watch(_path: string, _query: unknown, _onEvent: (event: WatchEvent) => void, signal?: AbortSignal) {
    await new Promise<void>((resolve) => signal?.addEventListener("abort", () => resolve(), { once: true }));
  }
  request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    if (options.signal?.aborted) return Promise.reject(new Error("aborted"));
    // As the real client: the fence runs last, and a write it refuses is never recorded.
    return Promise.resolve().then(() => {
      options.fence?.();
      this.writes.push({ method, path, options });
      return { metadata: { name: path.split("/").at(-1) } } as T;
    });
  }
}

function controllerOn(api: MemoryApi): NamespaceController {
  const metrics = new ControllerMetrics(() => 0);
  return new NamespaceController({
    api,
    logger,
    metrics,
    policy: () => policy,
    events: new EventRecorder(api, "test", "test", logger),
    excluded: ["kube-system"],
  });
}

const until = async (what: string, check: () => boolean) => {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

const term = (): LeaderTerm & { end(): void; refuse(): void } => {
  const controller = new AbortController();
  let refused = false;
  return {
    signal: controller.signal,
    fence: () => {
      if (refused || controller.signal.aborted) throw new NotLeaderError("no longer the leader");
    },
    end: () => controller.abort(),
    refuse: () => (refused = true),
  };
};

describe("the namespace controller's writes", () => {
  it("deletes its Sidecar only on the uid and resourceVersion it read, under the term's signal and fence", async () => {
    const api = new MemoryApi({
      "/api/v1/namespaces": [{ metadata: { name: "gone", resourceVersion: "3" } }],
      "/apis/networking.istio.io/v1/sidecars": [managed],
    });
    const controller = controllerOn(api);
    controller.start();
    await until("the mirrors to sync", () => controller.synced);
    const leading = term();
    const acting = controller.lead(leading);
    await until("the delete", () => api.writes.some((w) => w.method === "DELETE"));
    const deletion = api.writes.find((w) => w.method === "DELETE")!;
    assert.deepEqual((deletion.options.body as { preconditions: unknown }).preconditions, { uid: "uid-1", resourceVersion: "7" });
    assert.equal(deletion.options.signal, leading.signal);
    leading.refuse();
    assert.throws(() => deletion.options.fence?.(), NotLeaderError, "the write was fenced by the term");
    leading.end();
    await controller.stop();
    await acting;
  });

  it("writes nothing once the fence refuses, and nothing after the term ends", async () => {
    const namespaces = [
      { metadata: { name: "shop", resourceVersion: "3", labels: { "mesh-tailor.io/enabled": "true" } } },
      { metadata: { name: "cart", resourceVersion: "4", labels: { "mesh-tailor.io/enabled": "true" } } },
    ];
    const api = new MemoryApi({ "/api/v1/namespaces": namespaces, "/apis/networking.istio.io/v1/sidecars": [] });
    const controller = controllerOn(api);
    controller.start();
    await until("the mirrors to sync", () => controller.synced);
    const leading = term();
    // As a process paused between deciding and writing finds it on waking: the lease has passed.
    leading.refuse();
    const acting = controller.lead(leading);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(api.writes, [], "no write got past the fence");
    leading.end();
    await acting;
    controller.policyChanged();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(api.writes, [], "nothing is queued once the term has ended");
    await controller.stop();
  });

  it("does not start reconciling before both mirrors have listed", async () => {
    const api = new MemoryApi({ "/api/v1/namespaces": [{ metadata: { name: "shop", resourceVersion: "3", labels: { "mesh-tailor.io/enabled": "true" } } }] });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const list = api.list.bind(api);
    api.list = async <T extends KubeObject = KubeObject>(path: string) => {
      if (path.includes("sidecars")) await gate;
      return list<T>(path);
    };
    const controller = controllerOn(api);
    controller.start();
    const leading = term();
    const acting = controller.lead(leading);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(api.writes, [], "leading, but the Sidecars are not listed yet: nothing decided");
    release();
    await until("the Sidecar to be created once both mirrors synced", () => api.writes.some((w) => w.method === "POST" && w.path.endsWith("/sidecars")));
    leading.end();
    await controller.stop();
    await acting;
  });
});
