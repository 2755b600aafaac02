import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { JSON_PATCH, KubeApi, MERGE_PATCH } from "../../src/kube/client.js";
import { credentialSource } from "../../src/kube/credentials.js";
import { ApiError } from "../../src/kube/errors.js";
import { inClusterSource } from "../../src/kube/in-cluster.js";
import type { KubeObject } from "../../src/kube/object.js";
import type { MutatingWebhookConfiguration } from "../../src/namespaces/webhook-configurations.js";
import { CERTS_ACCOUNT, certsJob, type CertsJob } from "./harness/certs-job.js";
import { MESH_TAILOR_WEBHOOK, renderManifests, startMeshCluster, type MeshCluster } from "./harness/mesh-cluster.js";
import { waitFor } from "./harness/processes.js";

// What each part may do, asked of kube-apiserver as that part's ServiceAccount: what RBAC grants
// (manifests/), and what the ValidatingAdmissionPolicies refuse where RBAC cannot say it.
const POLICY = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n";
const CONFIGURATION = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${MESH_TAILOR_WEBHOOK}`;
const SECRETS = "/api/v1/namespaces/mesh-tailor/secrets";
const sidecars = (namespace?: string) => `/apis/networking.istio.io/v1${namespace ? `/namespaces/${namespace}` : ""}/sidecars`;
const MANAGED = { "app.kubernetes.io/managed-by": "mesh-tailor" };

/** How REQUEST ended: undefined when it succeeded, else its ApiError. */
const outcome = (request: Promise<unknown>): Promise<ApiError | undefined> =>
  request.then(
    () => undefined,
    (error: unknown) => {
      if (error instanceof ApiError) return error;
      throw error;
    },
  );
/** Refused by the named ValidatingAdmissionPolicy (403, and kube-apiserver names it). */
const byPolicy = (error: ApiError | undefined, policy: string): boolean =>
  error?.status === 403 && error.message.includes(`ValidatingAdmissionPolicy '${policy}'`);
/** Refused by RBAC: 403 saying the user cannot VERB. */
const byRbac = (error: ApiError | undefined, verb: string): boolean => error?.status === 403 && error.message.includes(`cannot ${verb} resource`);

describe("what each ServiceAccount may do, on a real kube-apiserver", { timeout: 600_000 }, () => {
  let cluster: MeshCluster;
  let admin: KubeApi;
  const clients: KubeApi[] = [];
  /** The one client, authenticated as NAME the way its pod is: a TokenRequest token and the CA, as files. */
  const asServiceAccount = async (namespace: string, name: string): Promise<KubeApi> => {
    const core = cluster.controlPlane.kubeConfig.makeApiClient(CoreV1Api);
    const token = await core.createNamespacedServiceAccountToken({ namespace, name, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
    const files = mkdtempSync(join(cluster.dir, `sa-${name}-`));
    writeFileSync(join(files, "token"), token.status!.token);
    writeFileSync(join(files, "ca.crt"), readFileSync(cluster.controlPlane.pki.caCert));
    const url = new URL(cluster.controlPlane.url);
    const api = new KubeApi(inClusterSource({ KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port }, files));
    clients.push(api);
    return api;
  };

  before(
    async () => {
      cluster = await startMeshCluster(POLICY);
      process.env["KUBECONFIG"] = cluster.controlPlane.kubeconfigPath;
      admin = new KubeApi(await credentialSource(undefined));
      clients.push(admin);
    },
    { timeout: 240_000 },
  );
  after(async () => {
    for (const api of clients) api.close();
    await cluster?.stop();
  });

  it("ran the certificate job as its ServiceAccount when the suite installed (manifests/certs-job), and left no role behind", async () => {
    const installed = await admin.get<MutatingWebhookConfiguration>(CONFIGURATION);
    assert.ok(installed.webhooks?.[0]?.clientConfig?.caBundle, "the job set the caBundle");
    assert.equal((await admin.get<{ type: string }>(`${SECRETS}/mesh-tailor-tls`)).type, "kubernetes.io/tls");
    for (const path of [
      `/api/v1/namespaces/mesh-tailor/serviceaccounts/${CERTS_ACCOUNT}`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/mesh-tailor/roles/${CERTS_ACCOUNT}`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/mesh-tailor/rolebindings/${CERTS_ACCOUNT}`,
      `/apis/rbac.authorization.k8s.io/v1/clusterroles/${CERTS_ACCOUNT}`,
      `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${CERTS_ACCOUNT}`,
    ])
      assert.equal((await outcome(admin.get(path)))?.status, 404, `${path} was deleted with manifests/certs-job`);
    await admin.get(`/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${CERTS_ACCOUNT}`);
  });

  describe("the certificate job (mesh-tailor-certs)", () => {
    let job: CertsJob;
    let certs: KubeApi;
    const configuration = () => admin.get<MutatingWebhookConfiguration & KubeObject>(CONFIGURATION);
    const patch = (api: KubeApi, operations: unknown[], dryRun = false) =>
      api.request("PATCH", CONFIGURATION, { body: operations, contentType: JSON_PATCH, query: dryRun ? { dryRun: "All" } : {} });

    before(async () => {
      // Applied again, as an operator reruns it.
      job = certsJob(cluster.controlPlane, cluster.dir, renderManifests("manifests/certs-job"), (o) => cluster.applyServerSide(o));
      await job.installRbac();
      certs = await asServiceAccount("mesh-tailor", CERTS_ACCOUNT);
      // kube-apiserver loads admission policies asynchronously: wait until this one refuses (a dry run changes nothing).
      await waitFor(`the ${CERTS_ACCOUNT} policy to be in force`, 30_000, async () =>
        byPolicy(await outcome(patch(certs, [{ op: "replace", path: "/webhooks/0/failurePolicy", value: "Fail" }], true)), CERTS_ACCOUNT) ? true : undefined,
      );
    });

    it("may replace the caBundle (its job, run again, keeps the Secret and trusts its CA)", async () => {
      const again = await job.run(join(cluster.dir, "certs-again"), ["--ip", "127.0.0.1"]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /exists: kept \(--if-missing\)/);

      const before = await configuration();
      const ca = Buffer.from(before.webhooks![0]!.clientConfig!.caBundle!, "base64").toString();
      const both = Buffer.from(`${ca.trimEnd()}\n${readFileSync(cluster.controlPlane.pki.caCert, "utf8")}`).toString("base64");
      const setBundle = (value: string) => [
        { op: "test", path: "/webhooks/0/name", value: before.webhooks![0]!.name },
        { op: "replace", path: "/webhooks/0/clientConfig/caBundle", value },
      ];
      await patch(certs, setBundle(both));
      assert.equal((await configuration()).webhooks![0]!.clientConfig!.caBundle, both);
      await patch(certs, setBundle(before.webhooks![0]!.clientConfig!.caBundle!));
      assert.equal((await configuration()).webhooks![0]!.clientConfig!.caBundle, before.webhooks![0]!.clientConfig!.caBundle);
    });

    it("does its own writes with the policy in force: creates the Secret and trusts its CA, then rotates both (--force)", async () => {
      type Secret = KubeObject & { data: Record<string, string> };
      const TLS = `${SECRETS}/mesh-tailor-tls`;
      const before = await configuration();
      const served = await admin.get<Secret>(TLS);
      const caBundle = async () => (await configuration()).webhooks![0]!.clientConfig!.caBundle!;
      try {
        // As on a first install: no Secret yet. The job sets the caBundle (a JSON patch), then creates the Secret.
        await admin.request("DELETE", TLS);
        const first = await job.run(join(cluster.dir, "certs-first"), ["--ip", "127.0.0.1"]);
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stderr, /patched caBundle of 1 webhook\(s\)/);
        assert.match(first.stderr, /created Secret mesh-tailor\/mesh-tailor-tls/);
        const created = await admin.get<Secret & { type: string }>(TLS);
        assert.equal(created.type, "kubernetes.io/tls");
        assert.equal(await caBundle(), created.data["ca.crt"], "the caBundle is the new Secret's CA");

        // A rotation, as `certs webhook --apply --force` does it: the caBundle trusts both CAs, then the Secret is replaced (an update).
        const rotated = await job.run(join(cluster.dir, "certs-rotated"), ["--ip", "127.0.0.1", "--force"], ["--if-missing"]);
        assert.equal(rotated.code, 0, rotated.stderr);
        assert.match(rotated.stderr, /rotated Secret mesh-tailor\/mesh-tailor-tls/);
        const replaced = await admin.get<Secret>(TLS);
        assert.notEqual(replaced.data["ca.crt"], created.data["ca.crt"]);
        const pem = (base64: string) => Buffer.from(base64, "base64").toString("utf8");
        assert.equal(pem(await caBundle()), `${pem(replaced.data["ca.crt"]!).trimEnd()}\n${pem(created.data["ca.crt"]!)}`, "the caBundle trusts both CAs");
      } finally {
        // Back to the certificate the suite's webhook serves.
        await outcome(admin.request("DELETE", TLS));
        await admin.request("POST", SECRETS, {
          body: { apiVersion: "v1", kind: "Secret", metadata: { name: "mesh-tailor-tls" }, type: "kubernetes.io/tls", data: served.data },
        });
        await admin.request("PATCH", CONFIGURATION, {
          body: [{ op: "replace", path: "/webhooks/0/clientConfig/caBundle", value: before.webhooks![0]!.clientConfig!.caBundle }],
          contentType: JSON_PATCH,
        });
      }
    });

    it("is refused any other change to 00-mesh-tailor by the admission policy, and anything else by RBAC", async () => {
      const before = await configuration();
      const refusals: [string, unknown[]][] = [
        ["failurePolicy", [{ op: "replace", path: "/webhooks/0/failurePolicy", value: "Fail" }]],
        ["the URL", [{ op: "replace", path: "/webhooks/0/clientConfig/url", value: "https://attacker.example/mutate" }]],
        [
          "a Service instead",
          [
            { op: "remove", path: "/webhooks/0/clientConfig/url" },
            { op: "add", path: "/webhooks/0/clientConfig/service", value: { name: "attacker", namespace: "default", path: "/mutate" } },
          ],
        ],
        ["the namespace selector", [{ op: "replace", path: "/webhooks/0/namespaceSelector", value: {} }]],
        ["the timeout", [{ op: "replace", path: "/webhooks/0/timeoutSeconds", value: 30 }]],
        [
          "a second webhook",
          [
            {
              op: "add",
              path: "/webhooks/-",
              value: { name: "more.mesh-tailor.io", admissionReviewVersions: ["v1"], sideEffects: "None", clientConfig: { url: "https://attacker.example/" } },
            },
          ],
        ],
        ["a label", [{ op: "add", path: "/metadata/labels/owned-by", value: "attacker" }]],
        [
          "an owner, which would have it garbage-collected",
          [
            {
              op: "add",
              path: "/metadata/ownerReferences",
              value: [{ apiVersion: "v1", kind: "Namespace", name: "gone", uid: "00000000-0000-0000-0000-000000000000" }],
            },
          ],
        ],
      ];
      for (const [what, operations] of refusals) {
        const error = await outcome(patch(certs, operations));
        assert.ok(byPolicy(error, CERTS_ACCOUNT), `${what}: ${error?.message ?? "accepted"}`);
        assert.match(error!.message, /may change only webhooks\[\*\]\.clientConfig\.caBundle/);
      }
      assert.equal((await configuration()).metadata.resourceVersion, before.metadata.resourceVersion, "nothing was written");
      assert.ok(byRbac(await outcome(certs.request("DELETE", CONFIGURATION)), "delete"));
      assert.ok(byRbac(await outcome(certs.get("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector")), "get"));
      assert.ok(byRbac(await outcome(certs.list("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations")), "list"));
    });

    it("may write no Secret but the webhook's TLS Secret (create cannot be narrowed by name in RBAC)", async () => {
      const secret = (name: string, type: string, annotations: Record<string, string> = {}) => ({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, annotations },
        type,
        data: { "tls.crt": "", "tls.key": "" },
      });
      for (const [what, body] of [
        ["another Secret", secret("mesh-tailor-other", "kubernetes.io/tls")],
        [
          "a ServiceAccount token Secret",
          secret("controller-token", "kubernetes.io/service-account-token", { "kubernetes.io/service-account.name": "mesh-tailor-controller" }),
        ],
      ] as const) {
        const error = await outcome(certs.request("POST", SECRETS, { body }));
        assert.ok(byPolicy(error, CERTS_ACCOUNT), `${what}: ${error?.message ?? "created"}`);
        assert.match(error!.message, /may write only the Secret mesh-tailor\/mesh-tailor-tls, of type kubernetes\.io\/tls/);
      }
      assert.ok(byRbac(await outcome(certs.list(SECRETS)), "list"));
      assert.ok(byRbac(await outcome(certs.request("DELETE", `${SECRETS}/mesh-tailor-tls`)), "delete"));
      assert.ok(byRbac(await outcome(certs.request("PATCH", `${SECRETS}/mesh-tailor-tls`, { body: {}, contentType: MERGE_PATCH })), "patch"));
    });

    it("loses every right once manifests/certs-job is deleted", async () => {
      await job.remove();
      // The token is bound to the deleted ServiceAccount: kube-apiserver stops accepting it.
      await waitFor("the deleted ServiceAccount's token to be refused", 30_000, async () =>
        (await outcome(certs.get(CONFIGURATION)))?.status === 401 ? true : undefined,
      );
    });
  });

  describe("the controller (mesh-tailor-controller)", () => {
    let controller: KubeApi;
    const CONTROLLER = "mesh-tailor-controller";
    const sidecar = (namespace: string, name: string, labels: Record<string, string> = {}) => ({
      apiVersion: "networking.istio.io/v1",
      kind: "Sidecar",
      metadata: { name, namespace, labels },
      spec: { egress: [{ hosts: ["./*", "istio-system/*"] }] },
    });
    const event = (namespace: string) => ({
      apiVersion: "v1",
      kind: "Event",
      metadata: { generateName: "rbac-shop.", namespace },
      involvedObject: { apiVersion: "v1", kind: "Namespace", name: "rbac-shop" },
      type: "Normal",
      reason: "Test",
      message: "written as the controller",
      source: { component: CONTROLLER },
    });

    before(async () => {
      await cluster.createNamespace("rbac-shop", {});
      await cluster.createNamespace("rbac-theirs", {});
      await admin.request("POST", sidecars("rbac-shop"), { body: sidecar("rbac-shop", "reviews") });
      await admin.request("POST", sidecars("rbac-theirs"), { body: sidecar("rbac-theirs", "default") });
      controller = await asServiceAccount("mesh-tailor", CONTROLLER);
      await waitFor(`the ${CONTROLLER} policy to be in force`, 30_000, async () =>
        byPolicy(
          await outcome(controller.request("POST", sidecars("rbac-shop"), { body: sidecar("rbac-shop", "other"), query: { dryRun: "All" } })),
          CONTROLLER,
        )
          ? true
          : undefined,
      );
    });

    it("lists and watches only the Sidecars named default (the field selector its mirror uses)", async () => {
      const fieldSelector = "metadata.name=default";
      const { resourceVersion } = await controller.list(sidecars(), { fieldSelector });
      await controller.watch(sidecars(), { fieldSelector, resourceVersion, timeoutSeconds: 1 }, () => undefined);
      assert.ok(byRbac(await outcome(controller.list(sidecars())), "list"), "a list of every Sidecar is refused");
      assert.ok(byRbac(await outcome(controller.watch(sidecars(), { resourceVersion, timeoutSeconds: 1 }, () => undefined)), "watch"));
      assert.ok(byRbac(await outcome(controller.get(`${sidecars("rbac-shop")}/reviews`)), "get"));
    });

    it("may not create, update or delete a Sidecar of another name, nor create one without its managed-by label", async () => {
      const created = await outcome(controller.request("POST", sidecars("rbac-shop"), { body: sidecar("rbac-shop", "other", MANAGED) }));
      assert.ok(byPolicy(created, CONTROLLER), created?.message ?? "created");
      const unlabelled = await outcome(controller.request("POST", sidecars("rbac-shop"), { body: sidecar("rbac-shop", "default") }));
      assert.ok(byPolicy(unlabelled, CONTROLLER), unlabelled?.message ?? "created");
      const theirs = await admin.get<KubeObject>(`${sidecars("rbac-shop")}/reviews`);
      assert.ok(
        byRbac(
          await outcome(controller.request("PUT", `${sidecars("rbac-shop")}/reviews`, { body: { ...theirs, spec: { egress: [{ hosts: ["*/*"] }] } } })),
          "update",
        ),
      );
      assert.ok(byRbac(await outcome(controller.request("DELETE", `${sidecars("rbac-shop")}/reviews`)), "delete"));
      assert.equal((await admin.get<KubeObject>(`${sidecars("rbac-shop")}/reviews`)).metadata.resourceVersion, theirs.metadata.resourceVersion);
    });

    it("creates, restores and removes its managed default Sidecar, and never a user's own", async () => {
      const created = await controller.request<KubeObject>("POST", sidecars("rbac-shop"), { body: sidecar("rbac-shop", "default", MANAGED) });
      const edited = await controller.request<KubeObject>("PUT", `${sidecars("rbac-shop")}/default`, {
        body: { ...created, spec: { egress: [{ hosts: ["./*"] }] } },
      });
      const disowned = await outcome(
        controller.request("PUT", `${sidecars("rbac-shop")}/default`, { body: { ...edited, metadata: { ...edited.metadata, labels: {} } } }),
      );
      assert.ok(byPolicy(disowned, CONTROLLER), `its managed-by label taken off: ${disowned?.message ?? "updated"}`);
      await controller.request("DELETE", `${sidecars("rbac-shop")}/default`);

      const theirs = await admin.get<KubeObject>(`${sidecars("rbac-theirs")}/default`);
      const restored = await outcome(
        controller.request("PUT", `${sidecars("rbac-theirs")}/default`, { body: { ...theirs, metadata: { ...theirs.metadata, labels: MANAGED } } }),
      );
      assert.ok(byPolicy(restored, CONTROLLER), restored?.message ?? "updated");
      assert.ok(byPolicy(await outcome(controller.request("DELETE", `${sidecars("rbac-theirs")}/default`)), CONTROLLER));
      assert.equal((await admin.get<KubeObject>(`${sidecars("rbac-theirs")}/default`)).metadata.resourceVersion, theirs.metadata.resourceVersion);
    });

    it("writes Events only in default, where those about namespaces are kept", async () => {
      await controller.request("POST", "/api/v1/namespaces/default/events", { body: event("default") });
      for (const namespace of ["rbac-shop", "mesh-tailor"])
        assert.ok(byRbac(await outcome(controller.request("POST", `/api/v1/namespaces/${namespace}/events`, { body: event(namespace) })), "create"), namespace);
      assert.ok(byRbac(await outcome(controller.list("/api/v1/namespaces/default/events")), "list"));
    });

    it("changes only its own label and annotation of a namespace", async () => {
      const path = "/api/v1/namespaces/rbac-shop";
      const merge = (metadata: unknown) => controller.request<KubeObject>("PATCH", path, { body: { metadata }, contentType: MERGE_PATCH });
      const enabled = await merge({ labels: { "mesh-tailor.io/enabled": "true" }, annotations: { "mesh-tailor.io/sandbox-of": "shop" } });
      assert.equal(enabled.metadata.labels?.["mesh-tailor.io/enabled"], "true");
      for (const [what, metadata] of [
        ["a Pod Security level", { labels: { "pod-security.kubernetes.io/enforce": "privileged" } }],
        ["Istio's injection label", { labels: { "istio-injection": "enabled" } }],
        ["another annotation", { annotations: { "scheduler.alpha.kubernetes.io/node-selector": "pool=attacker" } }],
        ["a finalizer", { finalizers: ["attacker.example/hold"] }],
      ] as const) {
        const error = await outcome(merge(metadata));
        assert.ok(byPolicy(error, CONTROLLER), `${what}: ${error?.message ?? "accepted"}`);
      }
      await merge({ labels: { "mesh-tailor.io/enabled": null }, annotations: { "mesh-tailor.io/sandbox-of": null } });
      assert.ok(byRbac(await outcome(controller.get(path)), "get"), "the mirror lists and watches; it never gets");
      // The label and the mark go together, as a sandbox is enabled and disabled.
      for (const [what, metadata] of [
        ["the label without the mark", { labels: { "mesh-tailor.io/enabled": "true" } }],
        ["the mark without the label", { annotations: { "mesh-tailor.io/sandbox-of": "shop" } }],
        ["another value", { labels: { "mesh-tailor.io/enabled": "false" }, annotations: { "mesh-tailor.io/sandbox-of": "shop" } }],
      ] as const) {
        const error = await outcome(merge(metadata));
        assert.ok(byPolicy(error, CONTROLLER), `${what}: ${error?.message ?? "accepted"}`);
      }
    });

    it("never writes in the cluster's own namespaces, Istio's root namespace (a Sidecar there is mesh-wide) or its own", async () => {
      const mesh = await outcome(controller.request("POST", sidecars("istio-system"), { body: sidecar("istio-system", "default", MANAGED) }));
      assert.ok(byPolicy(mesh, CONTROLLER), `a managed default Sidecar in istio-system: ${mesh?.message ?? "created"}`);
      for (const namespace of ["kube-public", "istio-system", "mesh-tailor"]) {
        const error = await outcome(
          controller.request("PATCH", `/api/v1/namespaces/${namespace}`, {
            body: { metadata: { labels: { "mesh-tailor.io/enabled": "true" }, annotations: { "mesh-tailor.io/sandbox-of": "shop" } } },
            contentType: MERGE_PATCH,
          }),
        );
        assert.ok(byPolicy(error, CONTROLLER), `enabling ${namespace}: ${error?.message ?? "accepted"}`);
      }
    });

    it("never disables a namespace its owner enabled", async () => {
      await cluster.createNamespace("rbac-owned", { "mesh-tailor.io/enabled": "true" });
      const error = await outcome(
        controller.request("PATCH", "/api/v1/namespaces/rbac-owned", {
          body: { metadata: { labels: { "mesh-tailor.io/enabled": null }, annotations: { "mesh-tailor.io/sandbox-of": null } } },
          contentType: MERGE_PATCH,
        }),
      );
      assert.ok(byPolicy(error, CONTROLLER), error?.message ?? "disabled");
      assert.equal((await admin.get<KubeObject>("/api/v1/namespaces/rbac-owned")).metadata.labels?.["mesh-tailor.io/enabled"], "true");
    });

    it("creates no Lease but its own", async () => {
      const lease = (name: string) => ({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name }, spec: {} });
      const error = await outcome(controller.request("POST", "/apis/coordination.k8s.io/v1/namespaces/mesh-tailor/leases", { body: lease("another") }));
      assert.ok(byPolicy(error, CONTROLLER), error?.message ?? "created");
      await controller.request("POST", "/apis/coordination.k8s.io/v1/namespaces/mesh-tailor/leases", { body: lease(CONTROLLER) });
    });
  });
});
