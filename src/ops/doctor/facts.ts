import * as istioKeys from "../../keys/istio.js";
import { isForbidden, isNotFound } from "../../kube/errors.js";
import type { KubeApi } from "../../kube/client.js";
import type { KubeObject } from "../../kube/object.js";
import { installNamespaceOf, MESH_TAILOR_WEBHOOK_CONFIGURATION, type MutatingWebhookConfiguration } from "../../namespaces/webhook-configurations.js";
import { PolicyError } from "../../policy/load.js";
import { resolvePolicy, type ResolvedPolicy } from "../installed-policy.js";
import { COLLECTIONS, listOrAbsent, readSnapshot } from "../snapshot.js";
import { readIstioInjection } from "../injector-reads.js";
import type { RevisionInjection } from "../../namespaces/revision-injection.js";

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly resourceFieldRef?: { readonly resource?: string; readonly divisor?: string } } & Record<string, unknown>;
}
export interface WorkloadContainer {
  readonly name?: string;
  readonly image?: string;
  readonly env?: readonly EnvVar[];
  readonly envFrom?: readonly unknown[];
  readonly resources?: { readonly requests?: Record<string, string>; readonly limits?: Record<string, string> };
}
export type Deployment = KubeObject & {
  spec?: {
    replicas?: number;
    template?: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec?: { containers?: WorkloadContainer[]; volumes?: { name: string; secret?: { secretName?: string } }[] };
    };
  };
  status?: { availableReplicas?: number };
};
export type Secret = KubeObject & { data?: Record<string, string> };
/** "forbidden": the caller may not read it (doctor says so rather than guessing). */
export type Readable<T> = T | undefined | "forbidden";

/** Everything the checks may read from the cluster. Absent objects are undefined. */
export interface Facts {
  readonly now: Date;
  readonly serverVersion: string;
  /** The policy doctor judges by (--config, else the installed one, else the built-in one). */
  readonly policy: ResolvedPolicy;
  readonly configurations: readonly MutatingWebhookConfiguration[];
  /** Where mesh-tailor is installed, from its webhook configuration. */
  readonly installNamespace: string;
  readonly webhookDeployment: Deployment | undefined;
  readonly controllerDeployment: Deployment | undefined;
  /** The TLS Secret the webhook Deployment mounts. */
  readonly tlsSecretName: string;
  readonly tlsSecret: Readable<Secret>;
  readonly meshCa: Readable<Secret>;
  readonly istiods: readonly Deployment[];
  readonly namespaces: readonly KubeObject[];
  /** Every pod in the cluster (one paged LIST), whole but for managedFields: whether Istio's proxy is in it is in its spec. */
  readonly pods: readonly KubeObject[];
  /** How many Services the cluster has (a paged, metadata-only LIST). */
  readonly serviceCount: number;
  /**
   * The Deployments that may be Istio gateways, whole: those with the gateway chart's `istio`
   * label, and those istiod deploys for Gateway API Gateways (two label-selected paged LISTs).
   */
  readonly gatewayCandidates: readonly Deployment[];
  /** Every DaemonSet, metadata only (one paged LIST): NodeLocal DNSCache is one of them, wherever it runs. */
  readonly daemonSets: readonly KubeObject[];
  /** Every AuthorizationPolicy (one paged LIST); none when Istio's CRDs are not installed, undefined when forbidden. */
  readonly authorizationPolicies: readonly KubeObject[] | undefined;
  /** The installed (or --config) policy as text was judged: valid, or its problems; never throws for an invalid one. */
  readonly policyValidity: PolicyValidity;
  /** What the webhook's pods say they serve (their /metrics, through the API server's pod proxy). */
  readonly servedPolicy: ServedPolicy;
  /**
   * What each Istio revision injects now (its injector ConfigMap, a GET each; ENABLE_NATIVE_SIDECARS
   * from its istiod when there), and, in words, the revisions whose ConfigMap could not be read.
   */
  readonly injections: { readonly byRevision: ReadonlyMap<string, RevisionInjection>; readonly unread: readonly string[] };
  /** Every Node, whole but for managedFields (one paged LIST): kubelet versions and topology labels; undefined when forbidden. */
  readonly nodes: readonly KubeObject[] | undefined;
  /** The Sidecars of the root namespace (istio-system): the mesh-wide default; undefined when forbidden. */
  readonly rootSidecars: readonly KubeObject[] | undefined;
}

export type PolicyValidity =
  | { readonly origin: string; readonly problems: undefined; readonly revision: string; readonly services: number; readonly meshEnabled: boolean }
  | { readonly origin: string; readonly problems: readonly string[] };

export type ServedPolicy =
  { readonly read: true; readonly revisions: readonly string[]; readonly refused: boolean } | { readonly read: false; readonly why: string };

export type FactName = keyof Facts;

const DEFAULT_TLS_SECRET = "mesh-tailor-tls";

const orUndefined = <T>(read: Promise<T>): Promise<T | undefined> =>
  read.catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });

// Secrets are what a read-only operator is most often denied: a finding, not a failure of doctor.
const readable = <T>(read: Promise<T>): Promise<Readable<T>> =>
  orUndefined(read).catch((error: unknown) => {
    if (isForbidden(error)) return "forbidden" as const;
    throw error;
  });

type Readers = { readonly [K in FactName]: (facts: FactReader) => Promise<Facts[K]> };

/** How each fact is read: a GET or a paged LIST, some from what another fact says. */
const READERS: Readers = {
  now: (facts) => Promise.resolve(facts.nowDate),
  serverVersion: async (facts) => (await facts.api.get<{ gitVersion?: string }>("/version")).gitVersion ?? "unknown",
  policy: (facts) => resolvePolicy(facts.api, facts.configFile),
  configurations: async (facts) => (await facts.api.list<MutatingWebhookConfiguration>(COLLECTIONS.webhookConfigurations)).items,
  installNamespace: async (facts) => installNamespaceOf((await facts.get("configurations")).find((c) => c.metadata.name === MESH_TAILOR_WEBHOOK_CONFIGURATION)),
  webhookDeployment: async (facts) =>
    orUndefined(facts.api.get<Deployment>(`/apis/apps/v1/namespaces/${await facts.get("installNamespace")}/deployments/mesh-tailor`)),
  controllerDeployment: async (facts) =>
    orUndefined(facts.api.get<Deployment>(`/apis/apps/v1/namespaces/${await facts.get("installNamespace")}/deployments/mesh-tailor-controller`)),
  tlsSecretName: async (facts) =>
    (await facts.get("webhookDeployment"))?.spec?.template?.spec?.volumes?.find((v) => v.name === "tls")?.secret?.secretName ?? DEFAULT_TLS_SECRET,
  tlsSecret: async (facts) =>
    readable(facts.api.get<Secret>(`/api/v1/namespaces/${await facts.get("installNamespace")}/secrets/${await facts.get("tlsSecretName")}`)),
  meshCa: (facts) => readable(facts.api.get<Secret>("/api/v1/namespaces/istio-system/secrets/cacerts")),
  istiods: async (facts) =>
    (await orUndefined(facts.api.list<Deployment>("/apis/apps/v1/namespaces/istio-system/deployments", { labelSelector: "app=istiod" })))?.items ?? [],
  namespaces: async (facts) => (await facts.api.list(COLLECTIONS.namespaces, {}, { metadataOnly: true })).items,
  pods: async (facts) => (await readSnapshot(facts.api, ["pods"])).pods ?? [],
  serviceCount: async (facts) => (await facts.api.list("/api/v1/services", {}, { metadataOnly: true })).items.length,
  gatewayCandidates: async (facts) => {
    const [chart, gatewayApi] = await Promise.all([
      facts.api.list<Deployment>(COLLECTIONS.deployments, { labelSelector: istioKeys.GATEWAY_SELECTOR }),
      facts.api.list<Deployment>(COLLECTIONS.deployments, { labelSelector: istioKeys.GATEWAY_MANAGED }),
    ]);
    const seen = new Set<string>();
    return [...chart.items, ...gatewayApi.items].filter((d) => {
      const key = `${d.metadata.namespace}/${d.metadata.name}`;
      return seen.has(key) ? false : (seen.add(key), true);
    });
  },
  daemonSets: async (facts) => (await facts.api.list(COLLECTIONS.daemonSets, {}, { metadataOnly: true })).items,
  authorizationPolicies: async (facts) =>
    (await readSnapshot(facts.api, ["authorizationPolicies"], { optional: ["authorizationPolicies"], ifAllowed: ["authorizationPolicies"] }))
      .authorizationPolicies,
  policyValidity: async (facts) => {
    try {
      const { origin, policy } = await facts.get("policy");
      return { origin, problems: undefined, revision: policy.revision, services: policy.policy.services.length, meshEnabled: policy.policy.mesh.enabled };
    } catch (error) {
      if (error instanceof PolicyError) return { origin: error.origin, problems: error.problems };
      throw error;
    }
  },
  servedPolicy: async (facts) => readServedPolicy(facts.api, await facts.get("installNamespace")),
  injections: async (facts) => {
    // The nodes are a fact of their own (labels and kubelets, whole).
    const [configurations, istiods] = await Promise.all([facts.get("configurations"), facts.get("istiods")]);
    const read = await readIstioInjection(facts.api, configurations, istiods, { kubelets: false });
    return { byRevision: read.injections, unread: read.unjudged };
  },
  nodes: async (facts) => (await readSnapshot(facts.api, ["nodes"], { ifAllowed: ["nodes"] })).nodes,
  rootSidecars: async (facts) =>
    listOrAbsent(facts.api, `/apis/networking.istio.io/v1/namespaces/${istioKeys.ISTIO_SYSTEM}/sidecars`, {}, { optional: true, ifAllowed: true }),
};

/** A metric's samples in a Prometheus text page: label set to value. */
const samples = (page: string, name: string): { labels: string; value: number }[] =>
  page.split("\n").flatMap((line) => {
    const match = new RegExp(`^${name}(\\{[^}]*\\})?\\s+(\\S+)$`).exec(line);
    return match ? [{ labels: match[1] ?? "", value: Number(match[2]) }] : [];
  });

/**
 * The policy revisions the webhook's running pods serve, from their /metrics
 * (mesh_tailor_policy_info, mesh_tailor_policy_refused), read through the API server's pod
 * proxy: what a refused policy leaves in force. A user without pods/proxy learns why not.
 */
async function readServedPolicy(api: Pick<KubeApi, "getText" | "list">, namespace: string): Promise<ServedPolicy> {
  try {
    const { items } = await api.list(`/api/v1/namespaces/${namespace}/pods`, {
      labelSelector: "app.kubernetes.io/name=mesh-tailor,app.kubernetes.io/component=webhook",
    });
    const running = items.filter((pod) => (pod["status"] as { phase?: string } | undefined)?.phase === "Running").slice(0, 3);
    if (running.length === 0) return { read: false, why: `no running webhook pod in ${namespace}` };
    const pages = await Promise.all(
      running.map((pod) => api.getText(`/api/v1/namespaces/${namespace}/pods/https:${pod.metadata.name}:8443/proxy/metrics`, { timeoutMs: 5_000 })),
    );
    const revisions = new Set<string>();
    let refused = false;
    for (const page of pages) {
      for (const sample of samples(page, "mesh_tailor_policy_info"))
        if (sample.value === 1) revisions.add(/revision="([^"]*)"/.exec(sample.labels)?.[1] ?? "?");
      if (samples(page, "mesh_tailor_policy_refused").some((s) => s.value === 1)) refused = true;
    }
    return { read: true, revisions: [...revisions], refused };
  } catch (error) {
    return { read: false, why: isForbidden(error) ? "forbidden to this user (it needs get on pods/proxy)" : (error as Error).message };
  }
}

/** Reads each fact once, when a check first asks for it; a fact that cannot be read fails only the checks that need it. */
export class FactReader {
  private readonly read = new Map<FactName, Promise<unknown>>();

  constructor(
    readonly api: Pick<KubeApi, "get" | "getText" | "list">,
    readonly configFile: string | undefined,
    readonly nowDate: Date,
  ) {}

  get<K extends FactName>(name: K): Promise<Facts[K]> {
    let value = this.read.get(name);
    if (!value) {
      value = READERS[name](this);
      // Held until a check awaits it; a failure here is that check's finding.
      value.catch(() => undefined);
      this.read.set(name, value);
    }
    return value as Promise<Facts[K]>;
  }

  /** The facts NAMES, read together. */
  async pick<K extends FactName>(names: readonly K[]): Promise<Pick<Facts, K>> {
    const values = await Promise.all(names.map((name) => this.get(name)));
    return Object.fromEntries(names.map((name, index) => [name, values[index]])) as Pick<Facts, K>;
  }
}
