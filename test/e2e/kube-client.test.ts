import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { KubeApi } from "../../src/kube/client.js";
import { credentialSource } from "../../src/kube/credentials.js";
import { ApiError, isConflict } from "../../src/kube/errors.js";
import { inClusterSource } from "../../src/kube/in-cluster.js";
import { startControlPlane, type ControlPlane } from "./harness/control-plane.js";

// The one Kubernetes client against the real kube-apiserver: request bodies for every verb,
// preconditions that reach the server, and the credentials a pod has (its ServiceAccount files).
describe("the Kubernetes client against a real kube-apiserver", { timeout: 300_000 }, () => {
  let plane: ControlPlane;
  let api: KubeApi;
  const dir = mkdtempSync(join(tmpdir(), "mesh-tailor-kube-client-"));

  before(
    async () => {
      plane = await startControlPlane(join(dir, "cluster"));
      process.env["KUBECONFIG"] = plane.kubeconfigPath;
      api = new KubeApi(await credentialSource(undefined));
    },
    { timeout: 180_000 },
  );

  after(async () => {
    api?.close();
    await plane?.stop();
  });

  it("sends a DELETE's body: a wrong uid precondition is refused (409), and the kept-alive connection serves the next request", async () => {
    const path = "/api/v1/namespaces/default/configmaps";
    const created = await api.request<{ metadata: { uid: string; resourceVersion: string } }>("POST", path, {
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kept" }, data: { a: "1" } },
    });
    const refused = await api
      .request("DELETE", `${path}/kept`, { body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: { uid: "00000000-0000-0000-0000-000000000000" } } })
      .catch((error: unknown) => error);
    assert.ok(isConflict(refused), `the precondition reached the server: ${String(refused)}`);
    assert.match((refused as ApiError).message, /the UID in the precondition \(0{8}-0{4}-0{4}-0{4}-0{12}\) does not match the UID in record/);
    // The next request on the same pool is answered: no leftover bytes garbled the connection.
    const still = await api.get<{ data: Record<string, string> }>(`${path}/kept`);
    assert.equal(still.data["a"], "1");
    const stale = await api
      .request("DELETE", `${path}/kept`, {
        body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: { uid: created.metadata.uid, resourceVersion: "1" } },
      })
      .catch((error: unknown) => error);
    assert.ok(isConflict(stale), "a stale resourceVersion precondition is refused too");
    await api.request("DELETE", `${path}/kept`, {
      body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: { uid: created.metadata.uid, resourceVersion: created.metadata.resourceVersion } },
    });
    await assert.rejects(api.get(`${path}/kept`), (error: unknown) => error instanceof ApiError && error.status === 404);
  });

  it("a merge patch that carries the resourceVersion read fails once the object changed", async () => {
    const path = "/api/v1/namespaces/default/configmaps";
    const created = await api.request<{ metadata: { resourceVersion: string } }>("POST", path, {
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "patched" } },
    });
    await api.request("PATCH", `${path}/patched`, { body: { data: { b: "2" } }, contentType: "application/merge-patch+json" });
    const conditional = await api
      .request("PATCH", `${path}/patched`, {
        body: { metadata: { resourceVersion: created.metadata.resourceVersion }, data: { c: "3" } },
        contentType: "application/merge-patch+json",
      })
      .catch((error: unknown) => error);
    assert.ok(isConflict(conditional), String(conditional));
  });

  it("authenticates as a pod does, from the ServiceAccount's token and CA files", async () => {
    const core = plane.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: "default", body: { metadata: { name: "reader" } } });
    const token = await core.createNamespacedServiceAccountToken({
      namespace: "default",
      name: "reader",
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const serviceAccount = mkdtempSync(join(dir, "sa-"));
    writeFileSync(join(serviceAccount, "token"), token.status!.token);
    writeFileSync(join(serviceAccount, "ca.crt"), readFileSync(plane.pki.caCert));
    const url = new URL(plane.url);
    const inPod = new KubeApi(inClusterSource({ KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port }, serviceAccount));
    // No RBAC for this account: the API server knows who it is, and says it may not list namespaces.
    const denied = await inPod.list("/api/v1/namespaces").catch((error: unknown) => error);
    assert.ok(denied instanceof ApiError && denied.status === 403, String(denied));
    assert.match(denied.message, /system:serviceaccount:default:reader/);
    inPod.close();
  });
});
