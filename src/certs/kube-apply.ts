import { AdmissionregistrationV1Api, ApiException, CoreV1Api, type KubeConfig, PatchStrategy, setHeaderOptions, type V1Secret } from "@kubernetes/client-node";
import { KubeConfigError, loadKubeConfig as loadClusterConfig } from "../cluster/kubeconfig.js";
import { CACERTS_SECRET, ISTIO_NAMESPACE } from "./istio-layout.js";

/** Refused for safety: the message says what is at stake and how to insist. */
export class ApplyRefusedError extends Error {
  override readonly name = "ApplyRefusedError";
}

export function loadKubeConfig(context: string | undefined): KubeConfig {
  try {
    return loadClusterConfig(context);
  } catch (error) {
    if (error instanceof KubeConfigError) throw new ApplyRefusedError(error.message);
    throw error;
  }
}

const isNotFound = (error: unknown): boolean => error instanceof ApiException && error.code === 404;
const decode = (secret: V1Secret, key: string): string | undefined => (secret.data?.[key] === undefined ? undefined : Buffer.from(secret.data[key]!, "base64").toString("utf8"));
const encode = (data: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));

async function readSecret(core: CoreV1Api, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ namespace, name });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Creates istio-system/cacerts. An existing one under the same root is updated (a new
 * intermediate); one under another root is never replaced without `force`: a new mesh root
 * breaks mTLS between every workload at once.
 */
export async function applyCacerts(config: KubeConfig, data: Record<string, string>, options: { force: boolean }): Promise<string> {
  const core = config.makeApiClient(CoreV1Api);
  const body: V1Secret = { apiVersion: "v1", kind: "Secret", metadata: { name: CACERTS_SECRET, namespace: ISTIO_NAMESPACE }, type: "Opaque", data: encode(data) };
  const current = await readSecret(core, ISTIO_NAMESPACE, CACERTS_SECRET);
  if (!current) {
    await core.createNamespacedSecret({ namespace: ISTIO_NAMESPACE, body });
    return `created Secret ${ISTIO_NAMESPACE}/${CACERTS_SECRET}; (re)start istiod to use it`;
  }
  const sameRoot = decode(current, "root-cert.pem") === data["root-cert.pem"];
  if (!sameRoot && !options.force) {
    throw new ApplyRefusedError(
      `Secret ${ISTIO_NAMESPACE}/${CACERTS_SECRET} already holds a different root CA. Replacing a mesh root breaks mTLS between every workload until all of them restart; pass --force only as part of a planned root rotation`,
    );
  }
  if (sameRoot && Object.entries(data).every(([key, value]) => decode(current, key) === value)) return `Secret ${ISTIO_NAMESPACE}/${CACERTS_SECRET} is already up to date`;
  await core.replaceNamespacedSecret({ namespace: ISTIO_NAMESPACE, name: CACERTS_SECRET, body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } } });
  return `${sameRoot ? "updated" : "REPLACED the root of"} Secret ${ISTIO_NAMESPACE}/${CACERTS_SECRET}; restart istiod to use it`;
}

export interface WebhookTls {
  readonly namespace: string;
  readonly secretName: string;
  readonly webhookConfiguration: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
}

/** Sets caBundle on every webhook of the configuration (JSON patch); a no-op when already set. */
export async function patchCaBundle(config: KubeConfig, name: string, caBundlePem: string): Promise<string> {
  const api = config.makeApiClient(AdmissionregistrationV1Api);
  let current;
  try {
    current = await api.readMutatingWebhookConfiguration({ name });
  } catch (error) {
    if (isNotFound(error)) throw new ApplyRefusedError(`MutatingWebhookConfiguration ${name} not found: install manifests/ first (kubectl apply -k manifests)`);
    throw error;
  }
  const caBundle = Buffer.from(caBundlePem).toString("base64");
  const webhooks = current.webhooks ?? [];
  if (webhooks.length > 0 && webhooks.every((w) => w.clientConfig.caBundle === caBundle)) return `MutatingWebhookConfiguration ${name} already trusts this CA`;
  const body = webhooks.flatMap((webhook, index) => [
    { op: "test", path: `/webhooks/${index}/name`, value: webhook.name },
    { op: "add", path: `/webhooks/${index}/clientConfig/caBundle`, value: caBundle },
  ]);
  await api.patchMutatingWebhookConfiguration({ name, body }, setHeaderOptions("Content-Type", PatchStrategy.JsonPatch));
  return `patched caBundle of ${webhooks.length} webhook(s) in MutatingWebhookConfiguration ${name}`;
}

/**
 * Installs the webhook's serving certificate. When it replaces a certificate from another CA,
 * the caBundle first trusts both CAs, so the webhook is trusted throughout the rotation.
 */
export interface WebhookTlsOptions {
  readonly force: boolean;
  /** An existing Secret is kept as it is (and the caBundle made to trust its CA): install hooks that run on every upgrade. */
  readonly ifMissing?: boolean;
  /** Leave the caBundle alone: the configuration does not exist yet (a pre-install hook). */
  readonly skipCaBundle?: boolean;
}

export async function applyWebhookTls(config: KubeConfig, tls: WebhookTls, options: WebhookTlsOptions): Promise<string[]> {
  const core = config.makeApiClient(CoreV1Api);
  const data = { "tls.crt": tls.certPem, "tls.key": tls.keyPem, "ca.crt": tls.caPem };
  const body: V1Secret = { apiVersion: "v1", kind: "Secret", metadata: { name: tls.secretName, namespace: tls.namespace }, type: "kubernetes.io/tls", data: encode(data) };
  const current = await readSecret(core, tls.namespace, tls.secretName);
  const messages: string[] = [];
  const trust = async (caPem: string): Promise<void> => {
    if (!options.skipCaBundle) messages.push(await patchCaBundle(config, tls.webhookConfiguration, caPem));
  };
  if (current && options.ifMissing) {
    const keptCa = decode(current, "ca.crt");
    if (!keptCa) throw new ApplyRefusedError(`Secret ${tls.namespace}/${tls.secretName} has no ca.crt, so no caBundle can trust it; delete it, or rotate it with --force instead of --if-missing`);
    await trust(keptCa);
    messages.push(`Secret ${tls.namespace}/${tls.secretName} exists: kept (--if-missing)`);
    return messages;
  }
  if (!current) {
    await trust(tls.caPem);
    await core.createNamespacedSecret({ namespace: tls.namespace, body });
    messages.push(`created Secret ${tls.namespace}/${tls.secretName}`);
    return messages;
  }
  if (Object.entries(data).every(([key, value]) => decode(current, key) === value)) {
    await trust(tls.caPem);
    messages.push(`Secret ${tls.namespace}/${tls.secretName} is already up to date`);
    return messages;
  }
  if (!options.force) {
    throw new ApplyRefusedError(`Secret ${tls.namespace}/${tls.secretName} already holds another certificate; pass --force to rotate it`);
  }
  const previousCa = decode(current, "ca.crt");
  await trust(previousCa && previousCa !== tls.caPem ? `${tls.caPem.trimEnd()}\n${previousCa}` : tls.caPem);
  await core.replaceNamespacedSecret({ namespace: tls.namespace, name: tls.secretName, body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } } });
  messages.push(`rotated Secret ${tls.namespace}/${tls.secretName} (the caBundle trusts the old and the new CA)`);
  return messages;
}
