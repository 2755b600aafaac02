import { isForbidden, isNotFound } from "../../kube/errors.js";
import type { KubeApi } from "../../kube/client.js";
import type { KubeObject } from "../../kube/object.js";
import { installNamespaceOf, MESH_TAILOR_WEBHOOK_CONFIGURATION, type MutatingWebhookConfiguration } from "../../namespaces/webhook-configurations.js";
import { resolvePolicy, type ResolvedPolicy } from "../installed-policy.js";
import { COLLECTIONS } from "../snapshot.js";

export type Deployment = KubeObject & {
  spec?: { replicas?: number; template?: { spec?: { containers?: { image?: string }[]; volumes?: { name: string; secret?: { secretName?: string } }[] } } };
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
}

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
};

/** Reads each fact once, when a check first asks for it; a fact that cannot be read fails only the checks that need it. */
export class FactReader {
  private readonly read = new Map<FactName, Promise<unknown>>();

  constructor(
    readonly api: Pick<KubeApi, "get" | "list">,
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
