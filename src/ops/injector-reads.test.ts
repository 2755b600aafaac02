import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ISTIO_SIDECAR_INJECTOR, revisionTag } from "../../test/fixtures/istio-webhooks.js";
import { ApiError } from "../kube/errors.js";
import { readInjections, readKubelets } from "./injector-reads.js";

const values = (tag: string) => ({ data: { values: JSON.stringify({ global: { hub: "docker.io/istio", tag } }) } });
const canary = { ...revisionTag("canary", "canary"), metadata: { name: "istio-sidecar-injector-canary", labels: { "istio.io/rev": "canary" } } };

describe("reading what Istio's revisions inject", () => {
  it("reads each revision's ConfigMap once, the default one under either of its names, and says what it could not read", async () => {
    const asked: string[] = [];
    const answers: Record<string, () => Promise<unknown>> = {
      "/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector-default": () => Promise.resolve(values("1.30.1")),
      "/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector-canary": () => Promise.reject(new ApiError(500, "InternalError", "etcd is slow")),
    };
    const api = {
      get: (path: string) => {
        asked.push(path);
        return (answers[path]?.() ?? Promise.reject(new ApiError(404, "NotFound", "not found"))) as never;
      },
    };
    // The tag's configuration points to the default revision: no read of its own.
    const read = await readInjections(api, [ISTIO_SIDECAR_INJECTOR, revisionTag("prod", "default"), canary]);
    assert.deepEqual([...read.injections.keys()], ["default"]);
    assert.equal(read.injections.get("default")!.tag, "1.30.1");
    assert.deepEqual(read.unread, ["revision canary: ConfigMap istio-system/istio-sidecar-injector-canary could not be read: etcd is slow"]);
    assert.deepEqual(asked.sort(), [
      "/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector",
      "/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector-canary",
      "/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector-default",
    ]);
  });

  it("reads the kubelets from the nodes' table, page by page, by its Version column", async () => {
    const pages = [
      {
        columnDefinitions: [{ name: "Name" }, { name: "Status" }, { name: "Version" }],
        rows: [{ cells: ["a", "Ready", "v1.33.1"] }],
        metadata: { continue: "next" },
      },
      { columnDefinitions: [{ name: "Name" }, { name: "Status" }, { name: "Version" }], rows: [{ cells: ["b", "Ready", "v1.34.0"] }], metadata: {} },
    ];
    const accepted: (string | undefined)[] = [];
    const api = {
      get: (_path: string, query?: Record<string, unknown>, options?: { accept?: string }) => {
        accepted.push(options?.accept);
        return Promise.resolve(query?.["continue"] === "next" ? pages[1] : pages[0]) as never;
      },
    };
    assert.deepEqual(await readKubelets(api), ["v1.33.1", "v1.34.0"]);
    assert.ok(accepted.every((a) => a?.includes("as=Table")));
    const forbidden = { get: () => Promise.reject(new ApiError(403, "Forbidden", "no")) as never };
    assert.equal(await readKubelets(forbidden), "nodes are forbidden to this user");
  });
});
