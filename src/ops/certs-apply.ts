import { CACERTS_SECRET, ISTIO_NAMESPACE } from "../certs/istio-layout.js";
import { JSON_PATCH, type KubeApi } from "../kube/client.js";
import { isNotFound } from "../kube/errors.js";
import type { KubeObject } from "../kube/object.js";
import type { MutatingWebhookConfiguration } from "../namespaces/webhook-configurations.js";

/** Refused for safety: the message says what is at stake and how to insist. */
export class ApplyRefusedError extends Error {
  override readonly name = "ApplyRefusedError";
}

type Secret = KubeObject & { type?: string; data?: Record<string, string> };
type Api = Pick<KubeApi, "request" | "get">;

const secretPath = (namespace: string, name?: string): string => `/api/v1/namespaces/${namespace}/secrets${name ? `/${name}` : ""}`;
const decode = (secret: Secret, key: string): string | undefined =>
  secret.data?.[key] === undefined ? undefined : Buffer.from(secret.data[key], "base64").toString("utf8");
const encode = (data: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));

async function readSecret(api: Api, namespace: string, name: string): Promise<Secret | undefined> {
  try {
    return await api.get<Secret>(secretPath(namespace, name));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Replaces CURRENT with BODY; its resourceVersion makes the update fail (409) if anyone changed it since it was read. */
const replaceSecret = (api: Api, current: Secret, body: Secret): Promise<Secret> =>
  api.request<Secret>("PUT", secretPath(current.metadata.namespace ?? "", current.metadata.name), {
    body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata.resourceVersion } },
  });

/**
 * Creates istio-system/cacerts. An existing one under the same root is updated (a new
 * intermediate); one under another root is never replaced without `force`: a new mesh root
 * breaks mTLS between every workload at once.
 */
export async function applyCacerts(api: Api, data: Record<string, string>, options: { force: boolean }): Promise<string> {
  const body: Secret = { apiVersion: "v1", kind: "Secret", metadata: { name: CACERTS_SECRET, namespace: ISTIO_NAMESPACE }, type: "Opaque", data: encode(data) };
  const current = await readSecret(api, ISTIO_NAMESPACE, CACERTS_SECRET);
  if (!current) {
    await api.request("POST", secretPath(ISTIO_NAMESPACE), { body });
    return `created Secret ${ISTIO_NAMESPACE}/${CACERTS_SECRET}; (re)start istiod to use it`;
  }
  const sameRoot = decode(current, "root-cert.pem") === data["root-cert.pem"];
  if (!sameRoot && !options.force) {
    throw new ApplyRefusedError(
      `Secret ${ISTIO_NAMESPACE}/${CACERTS_SECRET} already holds a different root CA. Replacing a mesh root breaks mTLS between every workload until all of them restart; pass --force only as part of a planned root rotation`,
    );
  }
  if (sameRoot && Object.entries(data).every(([key, value]) => decode(current, key) === value))
    return `Secret ${ISTIO_NAMESPACE}/${CACERTS_SECRET} is already up to date`;
  await replaceSecret(api, current, body);
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

const webhookConfigurationPath = (name: string): string => `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}`;

/**
 * Sets caBundle on every webhook of the configuration; a no-op when already set. The JSON patch
 * tests each webhook's name at its index, so it never writes into a configuration that changed
 * shape since it was read, and it touches nothing but the caBundles.
 */
export async function patchCaBundle(api: Api, name: string, caBundlePem: string): Promise<string> {
  let current: MutatingWebhookConfiguration;
  try {
    current = await api.get<MutatingWebhookConfiguration>(webhookConfigurationPath(name));
  } catch (error) {
    if (isNotFound(error)) throw new ApplyRefusedError(`MutatingWebhookConfiguration ${name} not found: install manifests/ first (kubectl apply -k manifests)`);
    throw error;
  }
  const caBundle = Buffer.from(caBundlePem).toString("base64");
  const webhooks = current.webhooks ?? [];
  if (webhooks.length > 0 && webhooks.every((w) => w.clientConfig?.caBundle === caBundle)) return `MutatingWebhookConfiguration ${name} already trusts this CA`;
  const body = webhooks.flatMap((webhook, index) => [
    { op: "test", path: `/webhooks/${index}/name`, value: webhook.name },
    { op: "add", path: `/webhooks/${index}/clientConfig/caBundle`, value: caBundle },
  ]);
  await api.request("PATCH", webhookConfigurationPath(name), { body, contentType: JSON_PATCH });
  return `patched caBundle of ${webhooks.length} webhook(s) in MutatingWebhookConfiguration ${name}`;
}

export interface WebhookTlsOptions {
  readonly force: boolean;
  /** An existing Secret is kept as it is (and the caBundle made to trust its CA): install hooks that run on every upgrade. */
  readonly ifMissing?: boolean;
  /** Leave the caBundle alone: the configuration does not exist yet (a pre-install hook). */
  readonly skipCaBundle?: boolean;
}

/** What the cluster holds of the webhook's Secret: its ca.crt, or undefined when there is none. */
export async function existingWebhookCa(api: Api, namespace: string, secretName: string): Promise<{ exists: boolean; caPem: string | undefined }> {
  const current = await readSecret(api, namespace, secretName);
  return { exists: current !== undefined, caPem: current ? decode(current, "ca.crt") : undefined };
}

/**
 * Installs the webhook's serving certificate. When it replaces a certificate from another CA,
 * the caBundle first trusts both CAs, so the webhook is trusted throughout the rotation.
 */
export async function applyWebhookTls(api: Api, tls: WebhookTls, options: WebhookTlsOptions): Promise<string[]> {
  const data = { "tls.crt": tls.certPem, "tls.key": tls.keyPem, "ca.crt": tls.caPem };
  const body: Secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: tls.secretName, namespace: tls.namespace },
    type: "kubernetes.io/tls",
    data: encode(data),
  };
  const current = await readSecret(api, tls.namespace, tls.secretName);
  const messages: string[] = [];
  const trust = async (caPem: string): Promise<void> => {
    if (!options.skipCaBundle) messages.push(await patchCaBundle(api, tls.webhookConfiguration, caPem));
  };
  if (current && options.ifMissing) {
    const keptCa = decode(current, "ca.crt");
    if (!keptCa)
      throw new ApplyRefusedError(
        `Secret ${tls.namespace}/${tls.secretName} has no ca.crt, so no caBundle can trust it; delete it, or rotate it with --force instead of --if-missing`,
      );
    await trust(keptCa);
    messages.push(`Secret ${tls.namespace}/${tls.secretName} exists: kept (--if-missing)`);
    return messages;
  }
  if (!current) {
    await trust(tls.caPem);
    await api.request("POST", secretPath(tls.namespace), { body });
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
  await replaceSecret(api, current, body);
  messages.push(`rotated Secret ${tls.namespace}/${tls.secretName} (the caBundle trusts the old and the new CA)`);
  return messages;
}
