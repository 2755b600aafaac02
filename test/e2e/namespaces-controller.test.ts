import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { execFile } from "node:child_process";
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type CoreV1Event, type V1Pod } from "@kubernetes/client-node";
import { CLI } from "../fixtures/serve-process.js";
import type { Sidecar } from "../../src/namespaces/default-sidecar.js";
import type { StatusReport } from "../../src/ops/status.js";
import type { Explanation } from "../../src/ops/explain.js";
import type { NamespaceRow } from "../../src/ops/namespaces.js";
import { serviceAccountKubeconfig, startController, type ControllerProcess } from "./harness/controller-process.js";
import { startMeshCluster, type MeshCluster } from "./harness/mesh-cluster.js";
import { waitFor } from "./harness/processes.js";

// reviews is migrated everywhere; ratings is migrated onto a canary control plane ("canary"),
// which this cluster does not run: only Istio's namespace webhooks can inject such a pod.
const POLICY = `apiVersion: mesh-tailor.io/v1alpha1
kind: TailorPolicy
services:
  - name: reviews
  - name: ratings
    revision: canary
`;

const SIDECARS = { group: "networking.istio.io", version: "v1", plural: "sidecars" } as const;
const MANAGED_SPEC = { egress: [{ hosts: ["./*", "istio-system/*"] }] };
const ENABLED = "mesh-tailor.io/enabled";

const pod = (name: string, app: string, labels: Record<string, string> = {}): V1Pod => ({
  metadata: { name, labels: { app, ...labels } },
  spec: { containers: [{ name: "app", image: `${app}:1` }] },
});

describe("namespaces, the controller and its default Sidecar in a real kube-apiserver", { timeout: 600_000 }, () => {
  let cluster: MeshCluster;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let controllerKubeconfig: string;
  const controllers: ControllerProcess[] = [];

  const sidecarOf = async (namespace: string): Promise<Sidecar | undefined> => {
    try {
      return (await custom.getNamespacedCustomObject({ ...SIDECARS, namespace, name: "default" })) as Sidecar;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  };
  const managedSidecarIn = (namespace: string, what = `the managed Sidecar in ${namespace}`) =>
    waitFor(what, 30_000, async () => {
      const sidecar = await sidecarOf(namespace);
      return sidecar?.["metadata"]?.labels?.["app.kubernetes.io/managed-by"] === "mesh-tailor" &&
        JSON.stringify(sidecar["spec"]) === JSON.stringify(MANAGED_SPEC)
        ? sidecar
        : undefined;
    });
  const labelsOf = async (namespace: string) => (await core.readNamespace({ name: namespace })).metadata?.labels ?? {};
  // Events about a Namespace (cluster-scoped) are kept in "default", where kubectl describe finds them.
  const namespaceEvents = async (namespace: string): Promise<CoreV1Event[]> =>
    (await core.listNamespacedEvent({ namespace: "default", fieldSelector: `involvedObject.kind=Namespace,involvedObject.name=${namespace}` })).items;
  const eventsIn = async (namespace: string, reason: string): Promise<CoreV1Event[]> => (await namespaceEvents(namespace)).filter((e) => e.reason === reason);
  const leader = () =>
    waitFor("one controller to lead", 30_000, async () => {
      const leading: ControllerProcess[] = [];
      for (const c of controllers) if (c.child.exitCode === null && (await c.metric("mesh_tailor_controller_leader")) === 1) leading.push(c);
      return leading.length === 1 ? leading[0] : undefined;
    });

  before(
    async () => {
      cluster = await startMeshCluster(POLICY);
      core = cluster.controlPlane.kubeConfig.makeApiClient(CoreV1Api);
      custom = cluster.controlPlane.kubeConfig.makeApiClient(CustomObjectsApi);
      controllerKubeconfig = await serviceAccountKubeconfig(cluster, "mesh-tailor", "mesh-tailor-controller");
      for (const identity of ["controller-a", "controller-b"])
        controllers.push(await startController({ identity, kubeconfig: controllerKubeconfig, policyFile: cluster.policyFile }));
    },
    { timeout: 240_000 },
  );

  after(async () => {
    for (const controller of controllers) await controller.stop();
    await cluster?.stop();
  });

  it("enables and disables namespaces through the CLI, refusing kube-system and its own namespace", async () => {
    await cluster.createNamespace("shop", {});
    const enabled = await cluster.cli(["namespaces", "enable", "shop"]);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.match(enabled.stdout, /shop\s+enabled/);
    assert.equal((await labelsOf("shop"))[ENABLED], "true");
    const again = await cluster.cli(["namespaces", "enable", "shop"]);
    assert.match(again.stdout, /shop\s+unchanged\s+already enabled/);

    for (const refused of ["kube-system", "mesh-tailor"]) {
      const result = await cluster.cli(["namespaces", "enable", refused]);
      assert.equal(result.code, 1, `${refused}: ${result.stdout}`);
      assert.match(result.stdout, new RegExp(`${refused}\\s+refused`));
      assert.notEqual((await labelsOf(refused))[ENABLED], "true");
    }
    const missing = await cluster.cli(["namespaces", "enable", "no-such-namespace"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /no-such-namespace\s+not found/);

    await cluster.createNamespace("cart", { team: "cart" });
    const dryRun = await cluster.cli(["namespaces", "enable", "-l", "team=cart", "--dry-run", "-o", "json"]);
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.deepEqual(JSON.parse(dryRun.stdout), [{ namespace: "cart", result: "would enable", notes: [] }]);
    assert.equal((await labelsOf("cart"))[ENABLED], undefined, "a dry run stores nothing");
  });

  it("creates a managed default Sidecar that Istio's own CRD schema accepts as written", async () => {
    const sidecar = await managedSidecarIn("shop");
    assert.deepEqual(sidecar["spec"], MANAGED_SPEC, "kube-apiserver pruned nothing the CRD schema does not know");
    // The schema is enforced: a Sidecar Istio's CRD refuses is refused.
    await assert.rejects(
      custom.createNamespacedCustomObject({
        ...SIDECARS,
        namespace: "shop",
        body: { apiVersion: "networking.istio.io/v1", kind: "Sidecar", metadata: { name: "broken" }, spec: { egress: [{ hosts: "not-a-list" }] } },
      }),
      (error: { code?: number }) => error.code === 422,
    );
    const [created] = await waitFor("a DefaultSidecarCreated event on shop", 30_000, async () => {
      const events = await eventsIn("shop", "DefaultSidecarCreated");
      return events.length > 0 ? events : undefined;
    });
    assert.match(created!.message ?? "", /egress: \.\/\*, istio-system\/\*/);
  });

  it("recreates the managed Sidecar when deleted and restores it when edited", async () => {
    await custom.deleteNamespacedCustomObject({ ...SIDECARS, namespace: "shop", name: "default" });
    await managedSidecarIn("shop", "the deleted Sidecar to be recreated");
    const current = await managedSidecarIn("shop");
    await custom.replaceNamespacedCustomObject({
      ...SIDECARS,
      namespace: "shop",
      name: "default",
      body: { ...current, spec: { egress: [{ hosts: ["*/*"] }] } },
    });
    await managedSidecarIn("shop", "the edited Sidecar to be restored");
    await waitFor("a DefaultSidecarRestored event", 30_000, async () => ((await eventsIn("shop", "DefaultSidecarRestored")).length > 0 ? true : undefined));
  });

  it("leaves a user's own default Sidecar alone and reports it", async () => {
    await cluster.createNamespace("payments", {});
    const theirs = {
      apiVersion: "networking.istio.io/v1",
      kind: "Sidecar",
      metadata: { name: "default", namespace: "payments" },
      spec: { egress: [{ hosts: ["*/*"] }] },
    };
    await custom.createNamespacedCustomObject({ ...SIDECARS, namespace: "payments", body: theirs });
    assert.equal((await cluster.cli(["namespaces", "enable", "payments"])).code, 0);
    const [event] = await waitFor("a ForeignDefaultSidecar warning on payments", 30_000, async () => {
      const events = await eventsIn("payments", "ForeignDefaultSidecar");
      return events.length > 0 ? events : undefined;
    });
    assert.equal(event!.type, "Warning");
    const sidecar = await sidecarOf("payments");
    assert.deepEqual(sidecar?.["spec"], theirs.spec);
    assert.equal(sidecar?.["metadata"]?.labels?.["app.kubernetes.io/managed-by"], undefined);
    const list = await cluster.cli(["namespaces", "list", "--config", cluster.policyFile, "-o", "json"]);
    const row = (JSON.parse(list.stdout) as { namespaces: NamespaceRow[] }).namespaces.find((r) => r.namespace === "payments");
    assert.equal(row!.defaultSidecar, "user's own");
  });

  it("removes the managed Sidecar when a namespace is disabled, by the CLI or by removing the label", async () => {
    await cluster.createNamespace("search", { [ENABLED]: "true" });
    await managedSidecarIn("search");
    await core.patchNamespace({ name: "search", body: [{ op: "remove", path: "/metadata/labels/mesh-tailor.io~1enabled" }] });
    await waitFor("the controller to remove the Sidecar of the disabled namespace search", 30_000, async () =>
      (await sidecarOf("search")) === undefined ? true : undefined,
    );

    const disabled = await cluster.cli(["namespaces", "disable", "shop"]);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /shop\s+disabled\s+removed the managed Sidecar default/);
    assert.equal((await labelsOf("shop"))[ENABLED], undefined);
    assert.equal(await sidecarOf("shop"), undefined);
    const theirs = await cluster.cli(["namespaces", "disable", "payments"]);
    assert.match(theirs.stdout, /is not mesh-tailor's: left as it is/);
    assert.notEqual(await sidecarOf("payments"), undefined);
  });

  it("enables a sandbox namespace created after its base was enabled, and its first pod gets its branch", async () => {
    assert.equal((await cluster.cli(["namespaces", "enable", "shop"])).code, 0);
    await cluster.createNamespace("shop--box-10326", {});
    const labels = await waitFor("the controller to enable the sandbox shop--box-10326", 30_000, async () => {
      const current = await core.readNamespace({ name: "shop--box-10326" });
      return current.metadata?.labels?.[ENABLED] === "true" ? current.metadata : undefined;
    });
    assert.equal(labels.annotations?.["mesh-tailor.io/sandbox-of"], "shop");
    await waitFor("a SandboxEnabled event", 30_000, async () => ((await eventsIn("shop--box-10326", "SandboxEnabled")).length > 0 ? true : undefined));
    const created = await cluster.createPod("shop--box-10326", pod("reviews-1", "reviews"));
    assert.equal(created.metadata?.labels?.["branch"], "box-10326");
    await managedSidecarIn("shop--box-10326");
  });

  it("warns where Istio's namespace label overrides a service's revision, and it does", async () => {
    await cluster.createNamespace("legacy", { "istio-injection": "enabled" });
    const enabled = await cluster.cli(["namespaces", "enable", "legacy"]);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.match(
      enabled.stdout,
      /istio-injection=enabled: Istio's namespace webhook \(default revision\) injects every pod not labelled sidecar.istio.io\/inject=false/,
    );
    assert.match(enabled.stdout, /istio.io\/rev it writes for a service's revision is ignored here/);
    // What the warning says, against Istio's real webhook selectors: ratings asks for the canary
    // revision, which no webhook here serves; in a plain namespace it is therefore not injected,
    // under istio-injection=enabled the default revision injects it all the same.
    const plain = await cluster.createPod("shop", pod("ratings-1", "ratings"), { dryRun: true });
    assert.equal(plain.metadata?.labels?.["istio.io/rev"], "canary");
    assert.equal(plain.metadata?.annotations?.["sidecar.istio.io/status"], undefined, "no canary injector: not injected in a plain namespace");
    const legacy = await cluster.createPod("legacy", pod("ratings-1", "ratings"), { dryRun: true });
    assert.equal(legacy.metadata?.labels?.["istio.io/rev"], "canary");
    assert.ok(legacy.metadata?.annotations?.["sidecar.istio.io/status"], "injected by the default revision's namespace webhook despite istio.io/rev=canary");
    // A left-out service stays out: mesh-tailor's "false" still holds under the namespace label.
    const left = await cluster.createPod("legacy", pod("details-1", "details"), { dryRun: true });
    assert.equal(left.metadata?.labels?.["sidecar.istio.io/inject"], "false");
    assert.equal(left.metadata?.annotations?.["sidecar.istio.io/status"], undefined);

    await cluster.createPod("legacy", pod("ratings-1", "ratings"));
    const list = await cluster.cli(["namespaces", "list", "--config", cluster.policyFile]);
    assert.equal(list.code, 1, "a revision the namespace label overrides is a conflict");
    assert.match(
      list.stderr,
      /conflict: legacy: 1 pod\(s\) the policy cannot take effect on: injected by revision default, not revision "canary": namespace legacy's Istio label overrides the revision/,
    );
    // Stale: injected by the default revision where the policy asks for canary (status agrees).
    assert.match(list.stdout, /^legacy\s+yes\s+istio-injection=enabled\s+managed\s+1\s+1\s+1\s+1$/m);
    const status = await cluster.cli(["status", "--namespace", "legacy", "--config", cluster.policyFile, "-o", "json"]);
    assert.equal(status.code, 1, "status agrees: a policy that cannot take effect here");
    const [ratings] = (JSON.parse(status.stdout) as StatusReport).workloads;
    assert.match(ratings!.staleReason ?? "", /injected by revision default; the policy asks for canary/);
    assert.match(ratings!.problem ?? "", /not revision "canary": namespace legacy's Istio label overrides the revision/);
  });

  it("explains a pod Istio's injector will inject and one it will not, from the live webhooks", async () => {
    const injected = await cluster.cli(["explain", "-n", "shop--box-10326", "pod/reviews-1", "--config", cluster.policyFile]);
    assert.equal(injected.code, 0, injected.stderr);
    assert.match(injected.stdout, /namespace enabled:\s+yes; no Istio namespace label/);
    assert.match(injected.stdout, /policy entry:\s+services\[0\] \{"namespace":"\*","name":"reviews"/);
    assert.match(injected.stdout, /decision:\s+INTO the mesh, because a services entry matches its service name "reviews" \(inject: true\)/);
    assert.match(injected.stdout, /Istio injection:\s+INJECTED by object.sidecar-injector.istio.io \(istio-sidecar-injector\)/);
    // A bare pod is judged as it stands: Istio's proxy is in it, so the proxy's preStop applies too.
    assert.match(injected.stdout, /customizations:\s+inject, hold, prestop, branch/);
    assert.match(injected.stdout, /running pods:\s+1, 1 with a proxy, 0 stale/);

    // A Deployment whose service asks for a revision no Istio webhook here serves.
    await cluster.applyServerSide({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "ratings", namespace: "shop" },
      spec: {
        selector: { matchLabels: { app: "ratings" } },
        template: { metadata: { labels: { app: "ratings" } }, spec: { containers: [{ name: "app", image: "ratings:1" }] } },
      },
    } as never);
    const canary = await cluster.cli(["explain", "-n", "shop", "deployment/ratings", "--config", cluster.policyFile, "-o", "json"]);
    assert.equal(canary.code, 0, canary.stderr);
    const explained = JSON.parse(canary.stdout) as Explanation;
    assert.deepEqual(explained.decision, {
      selected: true,
      dataplane: "sidecar",
      reason: 'a services entry matches its service name "ratings" (inject: true)',
    });
    assert.equal(explained.sets["istio.io/rev"], "canary");
    assert.deepEqual(
      explained.injectors.filter((i) => i.injects),
      [],
      "no webhook of the installed revision takes a canary pod",
    );
    assert.match(explained.injectors.find((i) => i.webhook === "rev.object.sidecar-injector.istio.io")!.why, /objectSelector/);

    const missing = await cluster.cli(["explain", "-n", "shop", "deployment/nope"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /deployment\/nope not found in namespace shop/);

    // A name alone: no pod is called "ratings", the Deployment is.
    const byName = await cluster.cli(["explain", "-n", "shop", "ratings", "--config", cluster.policyFile]);
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.stdout, /^deployment\/ratings in namespace shop/);
    const none = await cluster.cli(["explain", "-n", "shop", "nothing-by-this-name"]);
    assert.match(none.stderr, /no pod, deployment, statefulset, daemonset, cronjob, job named nothing-by-this-name in namespace shop/);
  });

  it("a label selector never enables Kubernetes' and Istio's own namespaces; naming them does", async () => {
    const swept = await cluster.cli(["namespaces", "enable", "-l", "!no-such-label", "--dry-run", "-o", "json"]);
    const rows = JSON.parse(swept.stdout) as { namespace: string; result: string; notes: string[] }[];
    for (const name of ["kube-public", "kube-node-lease", "istio-system"]) {
      const row = rows.find((r) => r.namespace === name)!;
      assert.equal(row.result, "refused", name);
      assert.match(row.notes.join(" "), /matched by -l, but enabled only when named/);
    }
    const named = await cluster.cli(["namespaces", "enable", "kube-public", "--dry-run", "-o", "json"]);
    assert.equal((JSON.parse(named.stdout) as { result: string }[])[0]!.result, "would enable");
  });

  it("people who only read need only the reader roles; without them they are told which to ask for", async () => {
    const admin = cluster.controlPlane.kubeConfig;
    const core = admin.makeApiClient(CoreV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    for (const name of ["alice", "bob"]) await core.createNamespacedServiceAccount({ namespace: "default", body: { metadata: { name } } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: "alice-reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "mesh-tailor-reader" },
        subjects: [{ kind: "ServiceAccount", name: "alice", namespace: "default" }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: "mesh-tailor",
      body: {
        metadata: { name: "alice-policy" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "mesh-tailor-policy-reader" },
        subjects: [{ kind: "ServiceAccount", name: "alice", namespace: "default" }],
      },
    });
    const as = async (who: string, args: string[]) => {
      const kubeconfig = await serviceAccountKubeconfig(cluster, "default", who);
      return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [CLI, ...args], { env: { ...process.env, KUBECONFIG: kubeconfig } }, (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        ),
      );
    };
    // RBAC takes a moment to reach the authorizer's cache.
    await waitFor(
      "alice's roles to take effect",
      30_000,
      async () => ((await as("alice", ["namespaces", "list"])).stderr.includes("forbidden") ? undefined : true),
      500,
    );
    // Istio's injector ConfigMaps are in istio-system, which the ClusterRole does not reach: status
    // still reports, and says what it could not judge and how to grant it.
    const partial = await as("alice", ["status"]);
    assert.ok([0, 1, 3].includes(partial.code), `status ran (exit ${partial.code}): ${partial.stderr}`);
    assert.match(
      partial.stderr,
      /not judged \(proxy-version, sidecar-mode\): revision default: ConfigMap istio-system\/istio-sidecar-injector is forbidden to this user \(grant it/,
    );
    // The grant the README gives, as it gives it.
    await core.createNamespace({ body: { metadata: { name: "istio-system" } } }).catch((error: { code?: number }) => {
      if (error.code !== 409) throw error;
    });
    const kubectl = (args: string[]) =>
      new Promise<void>((resolve, reject) =>
        execFile("kubectl", args, { env: { ...process.env, KUBECONFIG: cluster.controlPlane.kubeconfigPath } }, (error, _out, stderr) =>
          error ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr}`)) : resolve(),
        ),
      );
    await kubectl(["-n", "istio-system", "create", "role", "mesh-tailor-istio-reader", "--verb", "get", "--resource", "configmaps"]);
    await kubectl([
      "-n",
      "istio-system",
      "create",
      "rolebinding",
      "alice-mesh-tailor",
      "--role",
      "mesh-tailor-istio-reader",
      "--serviceaccount",
      "default:alice",
    ]);
    await waitFor(
      "alice's istio-system role to take effect",
      30_000,
      async () => ((await as("alice", ["status"])).stderr.includes("forbidden") ? undefined : true),
      500,
    );
    for (const args of [["namespaces", "list"], ["status"], ["explain", "-n", "shop", "ratings"], ["policy", "validate", cluster.policyFile, "--cluster"]]) {
      const run = await as("alice", args);
      assert.doesNotMatch(run.stderr, /forbidden/i, `${args.join(" ")}: ${run.stderr}`);
      assert.ok([0, 1, 3].includes(run.code), `${args.join(" ")} ran (exit ${run.code}): ${run.stderr}`);
    }
    const bob = await as("bob", ["status"]);
    assert.equal(bob.code, 1);
    assert.match(bob.stderr, /cannot read the installed policy .*forbidden to this user\. Ask for the mesh-tailor-reader ClusterRole/);
  });

  it("never lets two replicas act at once, and hands over when the leader stops", async () => {
    const first = await leader();
    const other = controllers.find((c) => c !== first)!;
    const lease = await cluster.controlPlane.kubeConfig
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: "mesh-tailor", name: "mesh-tailor-controller" });
    assert.equal(lease.spec?.holderIdentity, first.identity);
    assert.equal(await other.metric("mesh_tailor_controller_leader"), 0);
    assert.equal(await other.metric("mesh_tailor_controller_reconciles_total", 'result="changed"'), 0, "the standby changed nothing");
    const sources = new Set<string>();
    for (const namespace of ["shop", "payments", "shop--box-10326", "legacy"])
      for (const event of await namespaceEvents(namespace)) if (event.source?.component === "mesh-tailor-controller") sources.add(event.source.host ?? "");
    assert.deepEqual([...sources], [first.identity], "every event came from the leader");

    await first.stop();
    assert.equal(first.child.exitCode, 0, "SIGTERM is a clean exit");
    assert.ok(
      first.logs.some((line) => line.msg === "leader lease released"),
      "the leader released its lease on the way out",
    );
    const second = await waitFor("the standby to take over the released lease", 20_000, async () =>
      (await other.metric("mesh_tailor_controller_leader")) === 1 ? other : undefined,
    );
    await custom.deleteNamespacedCustomObject({ ...SIDECARS, namespace: "shop", name: "default" });
    await managedSidecarIn("shop", "the new leader to recreate the Sidecar");
    const creators = (await eventsIn("shop", "DefaultSidecarCreated")).map((e) => e.source?.host);
    assert.ok(creators.includes(second.identity), `the new leader recorded the creation: ${creators.join(", ")}`);
    controllers.push(await startController({ identity: "controller-c", kubeconfig: controllerKubeconfig, policyFile: cluster.policyFile }));
    assert.equal(await controllers.at(-1)!.metric("mesh_tailor_controller_leader"), 0, "a new replica waits while the leader renews");
  });

  it("follows a policy edit without a restart: every managed Sidecar gets the new egress hosts", async () => {
    const hosts = ["./*", "istio-system/*", "shared/*"];
    await cluster.writePolicy(`${POLICY}namespaces:\n  defaultSidecar:\n    egressHosts: ${JSON.stringify(hosts)}\n`);
    for (const namespace of ["shop", "shop--box-10326", "legacy"]) {
      await waitFor(`the Sidecar of ${namespace} to follow the new policy`, 30_000, async () =>
        JSON.stringify((await sidecarOf(namespace))?.["spec"]) === JSON.stringify({ egress: [{ hosts }] }) ? true : undefined,
      );
    }
    await cluster.writePolicy(POLICY);
    await managedSidecarIn("shop", "the Sidecar to follow the policy back");
  });

  it("keeps working across a kube-apiserver restart", async () => {
    const active = await leader();
    await cluster.controlPlane.restartApiServer();
    await custom.deleteNamespacedCustomObject({ ...SIDECARS, namespace: "shop", name: "default" });
    await managedSidecarIn("shop", "the Sidecar to be recreated after the restart");
    await waitFor("the watch restarts to be counted", 10_000, async () =>
      ((await active.metric("mesh_tailor_controller_watch_restarts_total")) ?? 0) > 0 ? true : undefined,
    );
    assert.equal(await active.readyz(), 200);
  });
});
