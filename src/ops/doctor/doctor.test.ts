import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { before, describe, it } from "node:test";
import { issueServingBundle, type ServingBundle } from "../../certs/serving.js";
import { builtInPolicy, loadPolicy } from "../../policy/load.js";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { cli } from "../../../test/fixtures/run-cli.js";
import type { DoctorCheck } from "./check.js";
import { caBundle } from "./checks/ca-bundle.js";
import { controller, webhook } from "./checks/deployments.js";
import { DOCTOR_CHECKS } from "./checks/index.js";
import { kubernetesVersion } from "./checks/kubernetes-version.js";
import { meshCa } from "./checks/mesh-ca.js";
import { servingCertificate } from "./checks/serving-certificate.js";
import { untailoredNamespaces } from "./checks/untailored-namespaces.js";
import { webhookOrder } from "./checks/webhook-order.js";
import { checksHelp, checksTableMarkdown, doctor, judgeAll } from "./doctor.js";
import type { Facts } from "./facts.js";
import { ApiError } from "../../kube/errors.js";
import { ISTIO_SIDECAR_INJECTOR } from "../../../test/fixtures/istio-webhooks.js";
import type { MutatingWebhookConfiguration } from "../../namespaces/webhook-configurations.js";
import type { KubeObject } from "../../kube/object.js";
import { appPod, classicInjected } from "../../../test/fixtures/pods.js";
import { bypassedPods } from "./checks/bypassed-pods.js";
import { gatewayConcurrency } from "./checks/gateway-concurrency.js";
import { istiodTuning } from "./checks/istiod-tuning.js";
import { nodeLocalDns } from "./checks/node-local-dns.js";
import { ambient } from "./checks/ambient.js";
import { authorizationPolicies } from "./checks/authorization-policies.js";
import { proxyVersions } from "./checks/proxy-versions.js";
import { redundantCustomizations } from "./checks/redundant-customizations.js";
import { parseInjectorValues } from "../../namespaces/revision-injection.js";

const b64 = (text: string) => Buffer.from(text).toString("base64");
const DAY = 86_400_000;

function meshTailorConfiguration(caPem: string, extra: Record<string, unknown> = {}): MutatingWebhookConfiguration {
  return {
    metadata: { name: "00-mesh-tailor" },
    webhooks: [
      {
        name: "pods.mesh-tailor.io",
        reinvocationPolicy: "IfNeeded",
        clientConfig: { caBundle: b64(caPem), service: { name: "mesh-tailor", namespace: "mesh-tailor" } },
        ...extra,
      },
    ],
  };
}

const ISTIO = ISTIO_SIDECAR_INJECTOR;

const deployment = (name: string, available: number, replicas = 2) => ({
  metadata: { name, namespace: "mesh-tailor" },
  spec: { replicas },
  status: { availableReplicas: available },
});

let serving: ServingBundle;
let other: ServingBundle;
let meshRoot: ServingBundle;

function healthy(): Facts {
  return {
    now: new Date(),
    serverVersion: "v1.34.4",
    policy: { policy: builtInPolicy(), origin: "built-in" },
    policyValidity: { origin: "built-in", problems: undefined, revision: builtInPolicy().revision, services: 0, meshEnabled: true },
    servedPolicy: { read: true, revisions: [builtInPolicy().revision], refused: false },
    configurations: [meshTailorConfiguration(serving.caPem), ISTIO],
    installNamespace: "mesh-tailor",
    webhookDeployment: deployment("mesh-tailor", 3, 3),
    controllerDeployment: deployment("mesh-tailor-controller", 2),
    tlsSecretName: "mesh-tailor-tls",
    tlsSecret: { metadata: { name: "mesh-tailor-tls" }, data: { "tls.crt": b64(serving.certPem), "ca.crt": b64(serving.caPem) } },
    meshCa: { metadata: { name: "cacerts" }, data: { "ca-cert.pem": b64(meshRoot.certPem), "root-cert.pem": b64(meshRoot.caPem) } },
    istiods: [
      { metadata: { name: "istiod", labels: { app: "istiod" } }, spec: { template: { spec: { containers: [{ image: "docker.io/istio/pilot:1.28.1" }] } } } },
    ],
    namespaces: [{ metadata: { name: "shop", labels: { "mesh-tailor.io/enabled": "true", "istio-injection": "enabled" } } }, { metadata: { name: "plain" } }],
    pods: [],
    serviceCount: 12,
    gatewayCandidates: [],
    daemonSets: [],
    authorizationPolicies: [],
    injections: { byRevision: new Map(), unread: [] },
    nodes: [],
    rootSidecars: [],
  };
}

/** A stored pod in NAMESPACE that Istio injected; tailored by mesh-tailor or not, and labelled to be skipped or not. */
const injectedPod = (namespace: string, name: string, options: { skip?: boolean; tailored?: boolean } = {}): KubeObject => ({
  ...classicInjected(appPod()),
  metadata: {
    name,
    namespace,
    labels: { app: "legacy", ...(options.skip ? { "mesh-tailor.io/skip": "true" } : {}) },
    annotations: { "sidecar.istio.io/status": "{}", ...(options.tailored ? { "mesh-tailor.io/tailoring": "0123456789ab" } : {}) },
  },
});

/** CHECK's results on FACTS, as doctor reports them. */
const judge = async (check: DoctorCheck, facts: Facts) => judgeAll(facts, [check]);
const runChecks = (facts: Facts) => judgeAll(facts);
const resolved = (text: string) => ({ policy: loadPolicy(text), origin: "test" });

describe("doctor's checks", () => {
  before(async () => {
    [serving, other, meshRoot] = await Promise.all([
      issueServingBundle({ hosts: ["mesh-tailor", "mesh-tailor.mesh-tailor.svc"], days: 365 }),
      issueServingBundle({ hosts: ["mesh-tailor.mesh-tailor.svc"], days: 365 }),
      issueServingBundle({ hosts: ["istiod.istio-system.svc"], days: 365 }),
    ]);
  });

  it("check ambient's node agents once the policy puts a service in ambient: none ready is an error, one without the other on a node a warning", async () => {
    const node = (name: string, labels: Record<string, string>, nodeName: string, ready = true): KubeObject => ({
      metadata: { name, namespace: "istio-system", labels },
      spec: { nodeName },
      status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
    });
    const inAmbient = resolved("apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices:\n  - name: reviews\n    dataplane: ambient\n");
    assert.match((await judge(ambient, healthy()))[0]!.detail, /puts no service in ambient/);
    const none = (await judge(ambient, { ...healthy(), policy: inAmbient }))[0]!;
    assert.equal(none.status, "error");
    assert.match(
      none.detail,
      /services reviews: in ambient, but no ztunnel \(pods labelled app=ztunnel\) and no istio-cni \(pods labelled k8s-app=istio-cni-node\) is ready/,
    );
    const agents = [
      node("ztunnel-a", { app: "ztunnel" }, "node-a"),
      node("cni-a", { "k8s-app": "istio-cni-node" }, "node-a"),
      node("ztunnel-b", { app: "ztunnel" }, "node-b"),
      node("cni-b", { "k8s-app": "istio-cni-node" }, "node-b", false),
    ];
    const uneven = (await judge(ambient, { ...healthy(), policy: inAmbient, pods: agents }))[0]!;
    assert.equal(uneven.status, "warning");
    assert.match(uneven.detail, /not both ready on node\(s\) node-b/);
    const whole = (await judge(ambient, { ...healthy(), policy: inAmbient, pods: agents.slice(0, 2) }))[0]!;
    assert.equal(whole.status, "ok");
    assert.match(whole.detail, /ready on 1 node/);
  });

  it("report an AuthorizationPolicy with HTTP rules that selects a pod in ambient, as an error", async () => {
    const ambientPod: KubeObject = { metadata: { name: "reviews-1", namespace: "shop", labels: { app: "reviews", "istio.io/dataplane-mode": "ambient" } } };
    const sidecarPod: KubeObject = { metadata: { name: "ratings-1", namespace: "shop", labels: { app: "ratings" } } };
    const http = (name: string, app: string): KubeObject => ({
      metadata: { name, namespace: "shop" },
      spec: { selector: { matchLabels: { app } }, rules: [{ to: [{ operation: { paths: ["/admin"] } }] }] },
    });
    const facts = { ...healthy(), pods: [ambientPod, sidecarPod], authorizationPolicies: [http("reviews-admin", "reviews"), http("ratings-admin", "ratings")] };
    const found = await judge(authorizationPolicies, facts);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.status, "error");
    assert.match(found[0]!.detail, /AuthorizationPolicy shop\/reviews-admin selects pods in ambient and has HTTP rules \(to\.operation\.paths\)/);
    assert.match(found[0]!.fix!, /targetRefs/);
    assert.equal((await judge(authorizationPolicies, { ...facts, authorizationPolicies: [http("ratings-admin", "ratings")] }))[0]!.status, "ok");
    assert.match((await judge(authorizationPolicies, { ...facts, authorizationPolicies: undefined }))[0]!.detail, /forbidden/);
  });

  it("count pods by revision and proxy image, and warn of those older than their revision injects now", async () => {
    const values = JSON.stringify({ global: { hub: "docker.io/istio", tag: "1.28.1" } });
    const injections = { byRevision: new Map([["default", parseInjectorValues("default", values)!]]), unread: [] };
    const withRevision = (pod: KubeObject, revision: string): KubeObject => ({
      ...pod,
      metadata: { ...pod.metadata, annotations: { "sidecar.istio.io/status": JSON.stringify({ revision }) } },
    });
    // The fixture's proxy is docker.io/istio/proxyv2:1.27.0.
    const old = withRevision(injectedPod("shop", "reviews-1"), "default");
    const found = await judge(proxyVersions, { ...healthy(), pods: [old, withRevision(injectedPod("shop", "ratings-1"), "1-26")], injections });
    assert.deepEqual(
      found.map((f) => [f.status, f.detail]),
      [
        [
          "warning",
          "1 pod(s) run an older proxy than their revision injects now: default: docker.io/istio/proxyv2:1.27.0 → docker.io/istio/proxyv2:1.28.1 (1)",
        ],
        ["warning", "1 pod(s) were injected by a revision with no injection webhook any more: 1-26 (1)"],
      ],
    );
    assert.match(found[0]!.fix!, /mesh-tailor rollout --reason proxy-version --order namespace/);
    const current = {
      byRevision: new Map([["default", parseInjectorValues("default", JSON.stringify({ global: { hub: "docker.io/istio", tag: "1.27.0" } }))!]]),
      unread: [],
    };
    const fine = await judge(proxyVersions, { ...healthy(), pods: [old], injections: current });
    assert.deepEqual(
      fine.map((f) => [f.status, f.detail]),
      [["ok", "pods by revision and proxy image: default docker.io/istio/proxyv2:1.27.0 (1)"]],
    );
  });

  it("say which of the policy's customizations Istio and Kubernetes already give, and warn of a locality default that would mislead", async () => {
    const istiod = (tag: string, env: { name: string; value: string }[] = []) => ({
      metadata: { name: "istiod", labels: { app: "istiod" } },
      spec: { template: { spec: { containers: [{ name: "discovery", image: `docker.io/istio/pilot:${tag}`, env }] } } },
    });
    const node = (kubelet: string, labelled: boolean): KubeObject => ({
      metadata: { name: `node-${kubelet}`, labels: labelled ? { "topology.kubernetes.io/region": "eu", "topology.kubernetes.io/zone": "eu-1a" } : {} },
      status: { nodeInfo: { kubeletVersion: kubelet } },
    });
    const auto = { byRevision: new Map([["default", parseInjectorValues("default", JSON.stringify({ global: { tag: "1.31.0" } }))!]]), unread: [] };
    const policy = resolved(
      'apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\njobs: {nativeSidecar: true}\nlocality: {default: "eu.eu-1a"}\ndefaults:\n  connection: {http10: true}\n',
    );
    const meshWide: KubeObject = { metadata: { name: "default", namespace: "istio-system" }, spec: { egress: [{ hosts: ["istio-system/*", "./*"] }] } };
    const modern = await judge(redundantCustomizations, {
      ...healthy(),
      policy,
      injections: auto,
      nodes: [node("v1.33.2", true), node("v1.34.0", true)],
      istiods: [istiod("1.31.0", [{ name: "PILOT_HTTP10", value: "true" }])],
      rootSidecars: [meshWide],
    });
    assert.equal(modern[0]!.status, "warning");
    assert.match(modern[0]!.detail, /locality.default "eu.eu-1a" is written on pods whose node says otherwise/);
    const given = modern[1]!.detail;
    for (const setting of [
      /jobs.nativeSidecar: Istio injects every pod as a native sidecar already \(every kubelet is 1.33 or newer/,
      /startup.holdApplicationUntilProxyStarts: native sidecars/,
      /locality: istiod 1.31 reads a Service-less pod's locality from its node/,
      /namespaces.defaultSidecar: Sidecar istio-system\/default has no workloadSelector and the same egress hosts/,
      /connection.http10: every istiod runs with PILOT_HTTP10=true/,
    ])
      assert.match(given, setting);
    // An older node, an older istiod, unlabelled nodes, no mesh-wide Sidecar: nothing is given.
    const older = await judge(redundantCustomizations, {
      ...healthy(),
      policy,
      injections: auto,
      nodes: [node("v1.33.2", false), node("v1.32.5", false)],
      istiods: [istiod("1.19.3")],
      rootSidecars: [],
    });
    assert.deepEqual(
      older.map((f) => [f.status, f.detail]),
      [["ok", "nothing the policy turns on is given already"]],
    );
    const blind = await judge(redundantCustomizations, {
      ...healthy(),
      policy,
      injections: { byRevision: new Map(), unread: [] },
      nodes: undefined,
      rootSidecars: undefined,
    });
    assert.match(blind[0]!.detail, /cannot tell: jobs.nativeSidecar, startup.holdApplicationUntilProxyStarts: whether Istio injects native sidecars by itself/);
  });

  it("find nothing wrong with a healthy installation", async () => {
    const results = await runChecks(healthy());
    assert.deepEqual(
      results.filter((r) => r.status !== "ok"),
      [],
    );
    assert.deepEqual(
      [...new Set(results.map((r) => r.check))],
      DOCTOR_CHECKS.map((c) => c.name),
    );
    assert.match(results.find((r) => r.check === "istio")!.detail, /default \(1\.28\.1\)/);
    const tagged = await runChecks({
      ...healthy(),
      configurations: [
        ...healthy().configurations,
        { metadata: { name: "istio-revision-tag-stable", labels: { "istio.io/tag": "stable", "istio.io/rev": "default" } }, webhooks: [] },
      ],
    });
    assert.match(tagged.find((r) => r.check === "istio")!.detail, /revision tags: stable -> default/);
  });

  it("report an Istio configuration that sorts before mesh-tailor's, and a webhook not reinvoked", async () => {
    const early = { ...ISTIO, metadata: { name: "0-istio-revision-tag-early" } };
    const [order] = await judge(webhookOrder, { ...healthy(), configurations: [meshTailorConfiguration(serving.caPem), early] });
    assert.equal(order!.status, "error");
    assert.match(order!.detail, /0-istio-revision-tag-early sorts before 00-mesh-tailor/);
    const [once] = await judge(webhookOrder, {
      ...healthy(),
      configurations: [meshTailorConfiguration(serving.caPem, { reinvocationPolicy: "Never" }), ISTIO],
    });
    assert.equal(once!.status, "warning");
    assert.equal((await judge(webhookOrder, { ...healthy(), configurations: [ISTIO] }))[0]!.status, "error");
  });

  it("report a caBundle that does not verify the served certificate, naming cert-manager when it injects", async () => {
    const [bundle] = await judge(caBundle, { ...healthy(), configurations: [meshTailorConfiguration(other.caPem)] });
    assert.equal(bundle!.status, "error");
    assert.match(bundle!.fix!, /certs webhook .* --apply --force$/);
    const managed = meshTailorConfiguration(other.caPem);
    const [injected] = await judge(caBundle, {
      ...healthy(),
      configurations: [{ ...managed, metadata: { ...managed.metadata, annotations: { "cert-manager.io/inject-ca-from": "mesh-tailor/mesh-tailor" } } }],
    });
    assert.match(injected!.fix!, /cert-manager-cainjector/);
    const [missing] = await judge(caBundle, { ...healthy(), tlsSecret: undefined });
    assert.match(missing!.detail, /does not exist/);
    assert.doesNotMatch(missing!.fix!, /--force/, "nothing to replace: no --force");
    assert.deepEqual(await judge(servingCertificate, { ...healthy(), tlsSecret: undefined }), [], "a missing Secret is reported once, by ca-bundle");
    const [denied] = await judge(caBundle, { ...healthy(), tlsSecret: "forbidden" });
    assert.equal(denied!.status, "warning");
    assert.match(denied!.detail, /cannot read Secret mesh-tailor\/mesh-tailor-tls: forbidden/);
  });

  it("warn 30 days before the serving certificate expires, and fail once it has or when it names another host", async () => {
    const validTo = Date.parse(new X509Certificate(serving.certPem).validTo);
    const [soon] = await judge(servingCertificate, { ...healthy(), now: new Date(validTo - 10 * DAY) });
    assert.equal(soon!.status, "warning");
    assert.match(soon!.detail, /9 days left|10 days left/);
    assert.equal((await judge(servingCertificate, { ...healthy(), now: new Date(validTo + DAY) }))[0]!.status, "error");
    const [elsewhere] = await judge(servingCertificate, {
      ...healthy(),
      installNamespace: "x",
      configurations: [
        {
          ...meshTailorConfiguration(serving.caPem),
          webhooks: [
            {
              name: "pods.mesh-tailor.io",
              reinvocationPolicy: "IfNeeded",
              clientConfig: { caBundle: b64(serving.caPem), service: { name: "mesh-tailor", namespace: "platform" } },
            },
          ],
        },
      ],
    });
    assert.equal(elsewhere!.status, "error");
    assert.match(elsewhere!.detail, /not valid for mesh-tailor\.platform\.svc/);
  });

  it("warn when the mesh has no plug-in CA, and when it expires", async () => {
    assert.equal((await judge(meshCa, { ...healthy(), meshCa: undefined }))[0]!.status, "warning");
    assert.match((await judge(meshCa, { ...healthy(), meshCa: "forbidden" }))[0]!.detail, /forbidden/);
    const validTo = Date.parse(new X509Certificate(meshRoot.certPem).validTo);
    assert.ok((await judge(meshCa, { ...healthy(), now: new Date(validTo + DAY) })).some((r) => r.status === "error"));
  });

  it("fail on an unavailable webhook; warn on a missing controller only when the policy needs it", async () => {
    assert.equal((await judge(webhook, { ...healthy(), webhookDeployment: deployment("mesh-tailor", 0, 3) }))[0]!.status, "error");
    assert.equal((await judge(controller, { ...healthy(), controllerDeployment: undefined }))[0]!.status, "warning");
    const quiet = resolved(
      "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nnamespaces: {defaultSidecar: {enabled: false}}\nsandbox: {autoEnable: false}\n",
    );
    assert.equal((await judge(controller, { ...healthy(), policy: quiet, controllerDeployment: undefined }))[0]!.status, "ok");
  });

  it("check the Kubernetes version against what the policy asks for", async () => {
    const native = resolved("apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\njobs: {nativeSidecar: true}\n");
    assert.equal((await judge(kubernetesVersion, { ...healthy(), serverVersion: "v1.30.0" }))[0]!.status, "ok");
    const [old] = await judge(kubernetesVersion, { ...healthy(), serverVersion: "v1.29.9-eks.3" });
    assert.equal(old!.status, "error");
    assert.match(old!.detail, /sleep lifecycle action/);
    assert.match(old!.fix!, /proxyPreStopAction: exec/);
    assert.equal((await judge(kubernetesVersion, { ...healthy(), policy: native, serverVersion: "v1.28.4" }))[0]!.status, "error");
    assert.equal((await judge(kubernetesVersion, { ...healthy(), serverVersion: "v0.0.0-master+$Format:%H$" }))[0]!.status, "warning");
  });

  it("list namespaces Istio injects that mesh-tailor does not tailor, with the command that fixes it", async () => {
    const [result] = await judge(untailoredNamespaces, {
      ...healthy(),
      namespaces: [...healthy().namespaces, { metadata: { name: "payments", labels: { "istio-injection": "enabled" } } }],
    });
    assert.equal(result!.status, "warning");
    assert.match(result!.detail, /payments/);
    assert.equal(result!.fix, "mesh-tailor namespaces enable payments");
  });
});

describe("doctor's bypassed-pods check", () => {
  it("lists the pods of enabled namespaces that run Istio's proxy without mesh-tailor's tailoring, with why and the fix", async () => {
    const facts = {
      ...healthy(),
      pods: [
        injectedPod("shop", "legacy-1", { skip: true }),
        injectedPod("shop", "reviews-1", { tailored: true }),
        injectedPod("shop", "ratings-1"),
        injectedPod("plain", "elsewhere-1", { skip: true }),
        { ...injectedPod("shop", "no-proxy", { skip: true }), spec: { containers: [{ name: "app" }] } } as KubeObject,
      ],
    };
    const [result] = await judge(bypassedPods, facts);
    assert.equal(result!.status, "warning");
    assert.equal(
      result!.detail,
      `2 pod(s) in enabled namespaces run Istio's proxy without mesh-tailor's tailoring: shop/legacy-1 (labelled mesh-tailor.io/skip: "true"), shop/ratings-1 (admitted without mesh-tailor)`,
    );
    assert.match(result!.fix!, /^mesh-tailor rollout --namespace shop {3}\(/);
    assert.match(result!.fix!, /; kubectl get pods -A -l mesh-tailor\.io\/skip=true {3}\(/);
    assert.equal((await judge(bypassedPods, healthy()))[0]!.status, "ok");
  });

  it("names the first ten, and how many more", async () => {
    const pods = Array.from({ length: 13 }, (_, i) => injectedPod("shop", `legacy-${String(i).padStart(2, "0")}`, { skip: true }));
    const [result] = await judge(bypassedPods, { ...healthy(), pods });
    assert.match(result!.detail, /^13 pod\(s\) .*shop\/legacy-09 \(labelled mesh-tailor\.io\/skip: "true"\), and 3 more$/);
    assert.doesNotMatch(result!.detail, /legacy-10/);
    assert.doesNotMatch(result!.fix!, /rollout/, "a restart does not tailor a skip-labelled pod");
  });
});

describe("doctor's checks at scale", () => {
  const ingress = (resources: Record<string, unknown> = {}) => ({
    metadata: { name: "istio-ingressgateway", namespace: "istio-system", labels: { istio: "ingressgateway" } },
    spec: { template: { metadata: { annotations: { "inject.istio.io/templates": "gateway" } }, spec: { containers: [{ name: "istio-proxy", resources }] } } },
  });
  const istiod = (env: { name: string; value: string }[] = []) => ({
    metadata: { name: "istiod", namespace: "istio-system", labels: { app: "istiod" } },
    spec: { replicas: 2, template: { spec: { containers: [{ name: "discovery", image: "docker.io/istio/pilot:1.31.0", env }] } } },
  });
  const large = (): Facts => ({ ...healthy(), serviceCount: 1_500, istiods: [istiod()], pods: [injectedPod("shop", "ratings-1", { tailored: true })] });

  it("istiod-tuning: quiet below 1,000 Services and 2,000 pods with a proxy; past them, each default named with the value to set and one command", async () => {
    const [small] = await judge(istiodTuning, { ...healthy(), serviceCount: 999, istiods: [istiod()] });
    assert.equal(small!.status, "ok");
    assert.match(small!.detail, /999 Services, 0 pods with a proxy, 2 namespaces: within Istio's own load test/);
    const [big] = await judge(istiodTuning, large());
    assert.equal(big!.status, "warning");
    assert.match(big!.detail, /^istiod istio-system\/istiod at 1,500 Services, 1 pods with a proxy, 2 namespaces \(past Istio's own load test/);
    assert.match(big!.detail, /PILOT_FILTER_GATEWAY_CLUSTER_CONFIG is unset, false: set true, as every gateway/);
    assert.match(big!.detail, /PILOT_DEBOUNCE_AFTER is unset, 100ms: set 500ms/);
    assert.match(big!.detail, /PILOT_DEBOUNCE_MAX is unset, 10s: set 3s/);
    assert.equal(
      big!.fix,
      "kubectl -n istio-system set env deployment/istiod -c discovery PILOT_FILTER_GATEWAY_CLUSTER_CONFIG=true PILOT_DEBOUNCE_AFTER=500ms PILOT_DEBOUNCE_MAX=3s   (installed with Helm: the same under pilot.env)",
    );
    const tuned = istiod([
      { name: "PILOT_FILTER_GATEWAY_CLUSTER_CONFIG", value: "true" },
      { name: "PILOT_DEBOUNCE_AFTER", value: "500ms" },
      { name: "PILOT_DEBOUNCE_MAX", value: "3s" },
    ]);
    const [fixed] = await judge(istiodTuning, { ...large(), istiods: [tuned] });
    assert.equal(fixed!.status, "ok", fixed!.detail);
  });

  it("gateway-concurrency: a gateway with no CPU limit is a warning with the number of workers to set; a limit clears it", async () => {
    assert.equal((await judge(gatewayConcurrency, healthy()))[0]!.detail, "no Istio ingress gateway Deployment");
    const [unbounded] = await judge(gatewayConcurrency, { ...healthy(), gatewayCandidates: [ingress({ requests: { cpu: "100m" } }), istiod()] });
    assert.equal(unbounded!.status, "warning");
    assert.match(unbounded!.detail, /^Deployment istio-system\/istio-ingressgateway: no CPU limit and no concurrency: .*; set 2$/);
    const [bounded] = await judge(gatewayConcurrency, { ...healthy(), gatewayCandidates: [ingress({ limits: { cpu: "2" } })] });
    assert.equal(bounded!.detail, "Deployment istio-system/istio-ingressgateway: 2 Envoy worker(s), from its CPU limit 2, rounded up (ISTIO_CPU_LIMIT)");
  });

  it("node-local-dns: past the size, ClusterFirst pods without NodeLocal DNSCache are a warning; the DaemonSet clears it", async () => {
    const [small] = await judge(nodeLocalDns, { ...healthy(), pods: [injectedPod("shop", "ratings-1")] });
    assert.equal(small!.status, "ok");
    const [big] = await judge(nodeLocalDns, large());
    assert.equal(big!.status, "warning");
    assert.match(big!.detail, /^1 pod\(s\) send every lookup to the cluster DNS Service \(dnsPolicy ClusterFirst: shop\/ratings-1\)/);
    assert.match(big!.fix!, /nodelocaldns/);
    const [cached] = await judge(nodeLocalDns, { ...large(), daemonSets: [{ metadata: { name: "node-local-dns", namespace: "kube-system" } }] });
    assert.equal(cached!.detail, "NodeLocal DNSCache runs: DaemonSet kube-system/node-local-dns");
  });
});

describe("doctor's declarations", () => {
  it("list every check file, once, so that a new check is one file and one line", () => {
    const files = readdirSync(new URL("./checks/", import.meta.url)).filter((f) => f.endsWith(".js") && !f.endsWith(".test.js") && f !== "index.js");
    const declaredIn = new Set(DOCTOR_CHECKS.map((c) => c.name));
    assert.equal(declaredIn.size, DOCTOR_CHECKS.length, "no name twice");
    // Each check file's checks are its name, or (deployments) the names it declares.
    for (const file of files) assert.ok([...declaredIn].some((name) => file === `${name}.js`) || file === "deployments.js", `${file} is not in DOCTOR_CHECKS`);
    for (const check of DOCTOR_CHECKS) assert.ok(check.reads.length > 0, `${check.name} reads something`);
  });

  it("give --help and the README their lines", () => {
    const help = checksHelp();
    for (const check of DOCTOR_CHECKS) assert.match(help, new RegExp(`^  ${check.name} +\\S`, "m"));
    assert.equal(checksTableMarkdown().split("\n").length, DOCTOR_CHECKS.length + 2);
  });

  it("read each fact once, and fail only the checks whose facts cannot be read", async () => {
    const asked: string[] = [];
    const api = {
      get<T>(path: string): Promise<T> {
        asked.push(`GET ${path}`);
        if (path === "/version") return Promise.resolve({ gitVersion: "v1.34.4" } as T);
        if (path.endsWith("configmaps/mesh-tailor-policy")) {
          const policy = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nmesh: {enabled: maybe}\n";
          return Promise.resolve({ metadata: { name: "mesh-tailor-policy" }, data: { "policy.yaml": policy } } as T);
        }
        return Promise.reject(new ApiError(404, "NotFound", `${path} not found`));
      },
      list<T>(path: string, query: { labelSelector?: string } = {}): Promise<{ items: T[]; resourceVersion: string }> {
        asked.push(`LIST ${path}${query.labelSelector ? `?labelSelector=${query.labelSelector}` : ""}`);
        // The webhook's one pod, running: its /metrics say what it serves.
        const items = path.endsWith("/pods") ? [{ metadata: { name: "mesh-tailor-0" }, status: { phase: "Running" } }] : [];
        return Promise.resolve({ items: items as T[], resourceVersion: "1" });
      },
      getText(path: string): Promise<string> {
        asked.push(`GET ${path}`);
        assert.equal(path, "/api/v1/namespaces/mesh-tailor/pods/https:mesh-tailor-0:8443/proxy/metrics");
        return Promise.resolve('# HELP x\nmesh_tailor_policy_info{revision="0123abcd4567"} 1\nmesh_tailor_policy_refused 1\n');
      },
    };
    const results = await doctor(api, undefined);
    assert.equal(new Set(asked).size, asked.length, `each fact read once: ${asked.join(", ")}`);
    const policyRow = results.find((r) => r.check === "policy")!;
    assert.equal(policyRow.status, "error");
    assert.match(policyRow.detail, /mesh-tailor-policy policy\.yaml is invalid: mesh\.enabled/);
    assert.match(policyRow.detail, /the webhook serves revision 0123abcd4567 \(and refuses the policy it was last given\)/);
    assert.equal(results.find((r) => r.check === "kubernetes-version")!.status, "error", "needs the policy");
    assert.equal(results.find((r) => r.check === "webhook-order")!.status, "error", "judged without the policy: nothing installed");
    assert.match(results.find((r) => r.check === "webhook-order")!.detail, /no MutatingWebhookConfiguration/);
  });
});

describe("doctor's fixes", () => {
  before(async () => {
    [serving, other, meshRoot] = await Promise.all([
      issueServingBundle({ hosts: ["mesh-tailor", "mesh-tailor.mesh-tailor.svc"], days: 365 }),
      issueServingBundle({ hosts: ["mesh-tailor.mesh-tailor.svc"], days: 365 }),
      issueServingBundle({ hosts: ["istiod.istio-system.svc"], days: 1 }),
    ]);
  });

  /** Every command a fix names (mesh-tailor's own and kubectl's), as it would be typed. */
  const commandsIn = (fix: string): string[][] =>
    fix.split(/;|\||\(|\)|\s{2,}/).flatMap((segment) => {
      const start = segment.search(/\b(mesh-tailor|kubectl) /);
      return start === -1 ? [] : [segment.slice(start).trim().split(/\s+/)];
    });

  it("print only commands that parse as written: mesh-tailor's with its own parser, kubectl's with kubectl's", async () => {
    const broken: Facts[] = [
      {
        ...healthy(),
        tlsSecret: undefined,
        meshCa: undefined,
        webhookDeployment: deployment("mesh-tailor", 0, 3),
        controllerDeployment: undefined,
        istiods: [],
        namespaces: [
          { metadata: { name: "payments", labels: { "istio-injection": "enabled" } } },
          { metadata: { name: "shop", labels: { "mesh-tailor.io/enabled": "true" } } },
          { metadata: { name: "shop-eu", labels: { "mesh-tailor.io/enabled": "true" } } },
        ],
        pods: [injectedPod("shop", "legacy-1", { skip: true }), injectedPod("shop", "ratings-1"), injectedPod("shop-eu", "ratings-1")],
        policyValidity: { origin: "ConfigMap mesh-tailor/mesh-tailor-policy", problems: ["mesh.enabled: expected boolean"] },
        policy: resolved("apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices:\n  - name: reviews\n    revision: canary\n"),
      },
      {
        ...healthy(),
        configurations: [meshTailorConfiguration(other.caPem), ISTIO],
        webhookDeployment: deployment("mesh-tailor", 1, 3),
        now: new Date(Date.now() + 30 * DAY),
      },
      { ...healthy(), configurations: [ISTIO], servedPolicy: { read: true, revisions: ["0123"], refused: true } },
      { ...healthy(), pods: [injectedPod("shop", "ratings-1")] },
      {
        ...healthy(),
        serviceCount: 5_000,
        istiods: [{ metadata: { name: "istiod", namespace: "istio-system" }, spec: { template: { spec: { containers: [{ name: "discovery" }] } } } }],
        gatewayCandidates: [
          {
            metadata: { name: "istio-ingressgateway", namespace: "istio-system", labels: { istio: "ingressgateway" } },
            spec: { template: { metadata: { annotations: { "inject.istio.io/templates": "gateway" } }, spec: { containers: [{ name: "istio-proxy" }] } } },
          },
          {
            metadata: { name: "edge", namespace: "edge", labels: { istio: "edge" } },
            spec: {
              template: {
                metadata: { annotations: { "inject.istio.io/templates": "gateway", "proxy.istio.io/config": "concurrency: 0" } },
                spec: { containers: [{ name: "istio-proxy" }] },
              },
            },
          },
        ],
      },
    ];
    const fixes = new Set((await Promise.all(broken.map((facts) => runChecks(facts)))).flat().flatMap((r) => (r.fix ? [r.fix] : [])));
    const commands = [...fixes].flatMap(commandsIn);
    assert.ok(commands.length >= 10, `the broken installations give commands to run: ${[...fixes].join(" | ")}`);
    for (const command of commands) {
      const [tool, ...args] = command;
      // --help after the flags: each tool parses every flag first, and refuses one it does not know.
      if (tool === "mesh-tailor") {
        const run = await cli([...args, "--help"]);
        assert.equal(run.code, 0, `${command.join(" ")}: ${run.stderr}`);
      } else {
        const run = spawnSync("kubectl", [...args, "--help"], { encoding: "utf8" });
        assert.equal(run.status, 0, `${command.join(" ")}: ${run.stderr}`);
      }
    }
  });
});
