import type { CompiledPolicy } from "../policy/load.js";
import { isForbidden, isNotFound, type KubeApi } from "./api.js";
import { runChecks, type CheckResult, type ClusterFacts, type Deployment, type MutatingWebhookConfiguration, type Secret } from "./doctor-checks.js";

const WEBHOOK_CONFIGURATION = "00-mesh-tailor";
const DEFAULT_INSTALL_NAMESPACE = "mesh-tailor";
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
  const [version, configurations, namespaces, meshCa, istiods] = await Promise.all([
    api.get<{ gitVersion?: string }>("/version"),
    api.list<MutatingWebhookConfiguration>("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"),
    api.list("/api/v1/namespaces", {}, { metadataOnly: true }),
    secretOrUndefined(api.get<Secret>("/api/v1/namespaces/istio-system/secrets/cacerts")),
    orUndefined(api.list<Deployment>("/apis/apps/v1/namespaces/istio-system/deployments", { labelSelector: "app=istiod" })),
  ]);
  const own = configurations.items.find((c) => c.metadata.name === WEBHOOK_CONFIGURATION);
  const installNamespace = own?.webhooks?.[0]?.clientConfig?.service?.namespace ?? DEFAULT_INSTALL_NAMESPACE;
  const deployments = `/apis/apps/v1/namespaces/${installNamespace}/deployments`;
  const [webhookDeployment, controllerDeployment] = await Promise.all([orUndefined(api.get<Deployment>(`${deployments}/mesh-tailor`)), orUndefined(api.get<Deployment>(`${deployments}/mesh-tailor-controller`))]);
  // The Secret the webhook's pods mount, as its Deployment names it.
  const tlsSecretName = webhookDeployment?.spec?.template?.spec?.volumes?.find((v) => v.name === "tls")?.secret?.secretName ?? DEFAULT_TLS_SECRET;
  const tlsSecret = await secretOrUndefined(api.get<Secret>(`/api/v1/namespaces/${installNamespace}/secrets/${tlsSecretName}`));
  const facts: ClusterFacts = {
    now,
    serverVersion: version.gitVersion ?? "unknown",
    policy,
    webhookName: WEBHOOK_CONFIGURATION,
    configurations: configurations.items,
    installNamespace,
    webhookDeployment,
    controllerDeployment,
    tlsSecretName,
    tlsSecret,
    meshCa,
    istiods: istiods?.items ?? [],
    namespaces: namespaces.items,
  };
  return runChecks(facts);
}
