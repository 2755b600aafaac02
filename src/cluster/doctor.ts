import type { CompiledPolicy } from "../policy/load.js";
import { isForbidden, isNotFound, type KubeApi } from "./api.js";
import { runChecks, type CheckResult, type ClusterFacts, type Deployment, type Secret } from "./doctor-checks.js";
import { readSnapshot } from "./snapshot.js";
import { installNamespaceOf, MESH_TAILOR_WEBHOOK_CONFIGURATION, type MutatingWebhookConfiguration } from "./webhook-configurations.js";

const DEFAULT_TLS_SECRET = "mesh-tailor-tls";

const orUndefined = <T>(read: Promise<T>): Promise<T | undefined> =>
  read.catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });

// Secrets are what a read-only operator is most often denied: a finding, not a failure of doctor.
const secretOrUndefined = <T>(read: Promise<T>): Promise<T | undefined | "forbidden"> =>
  orUndefined(read).catch((error: unknown) => {
    if (isForbidden(error)) return "forbidden" as const;
    throw error;
  });

/** Reads what the checks need (a handful of GETs and paged LISTs) and runs them. */
export async function doctor(api: KubeApi, policy: CompiledPolicy, now = new Date()): Promise<CheckResult[]> {
  const [version, snapshot, meshCa, istiods] = await Promise.all([
    api.get<{ gitVersion?: string }>("/version"),
    readSnapshot(api, ["webhookConfigurations", "namespaces"], { metadataOnly: ["namespaces"] }),
    secretOrUndefined(api.get<Secret>("/api/v1/namespaces/istio-system/secrets/cacerts")),
    orUndefined(api.list<Deployment>("/apis/apps/v1/namespaces/istio-system/deployments", { labelSelector: "app=istiod" })),
  ]);
  const configurations = (snapshot.webhookConfigurations ?? []) as MutatingWebhookConfiguration[];
  const installNamespace = installNamespaceOf(configurations.find((c) => c.metadata.name === MESH_TAILOR_WEBHOOK_CONFIGURATION));
  const deployments = `/apis/apps/v1/namespaces/${installNamespace}/deployments`;
  const [webhookDeployment, controllerDeployment] = await Promise.all([orUndefined(api.get<Deployment>(`${deployments}/mesh-tailor`)), orUndefined(api.get<Deployment>(`${deployments}/mesh-tailor-controller`))]);
  // The Secret the webhook's pods mount, as its Deployment names it.
  const tlsSecretName = webhookDeployment?.spec?.template?.spec?.volumes?.find((v) => v.name === "tls")?.secret?.secretName ?? DEFAULT_TLS_SECRET;
  const tlsSecret = await secretOrUndefined(api.get<Secret>(`/api/v1/namespaces/${installNamespace}/secrets/${tlsSecretName}`));
  const facts: ClusterFacts = {
    now,
    serverVersion: version.gitVersion ?? "unknown",
    policy,
    configurations,
    installNamespace,
    webhookDeployment,
    controllerDeployment,
    tlsSecretName,
    tlsSecret,
    meshCa,
    istiods: istiods?.items ?? [],
    namespaces: snapshot.namespaces ?? [],
  };
  return runChecks(facts);
}
