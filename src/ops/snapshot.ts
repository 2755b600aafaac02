import type { KubeObject } from "../kube/object.js";
import type { KubeApi } from "../kube/client.js";

// The collections a cluster-wide read may need, by the path of their cluster-wide LIST.
export const COLLECTIONS = {
  namespaces: "/api/v1/namespaces",
  nodes: "/api/v1/nodes",
  pods: "/api/v1/pods",
  replicaSets: "/apis/apps/v1/replicasets",
  deployments: "/apis/apps/v1/deployments",
  statefulSets: "/apis/apps/v1/statefulsets",
  daemonSets: "/apis/apps/v1/daemonsets",
  jobs: "/apis/batch/v1/jobs",
  cronJobs: "/apis/batch/v1/cronjobs",
  defaultSidecars: "/apis/networking.istio.io/v1/sidecars",
  webhookConfigurations: "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
  gateways: "/apis/gateway.networking.k8s.io/v1/gateways",
  authorizationPolicies: "/apis/security.istio.io/v1/authorizationpolicies",
} as const;

export type Collection = keyof typeof COLLECTIONS;
export type Snapshot = { readonly [C in Collection]?: KubeObject[] };

const QUERIES: Partial<Record<Collection, Record<string, string>>> = {
  defaultSidecars: { fieldSelector: "metadata.name=default" },
};

/** What of an object a snapshot keeps. */
export type Keep = (object: KubeObject) => KubeObject;

/**
 * OBJECT without metadata.managedFields: who last wrote which field, which nothing here reads,
 * and on a pod with a sidecar a large share of its bytes.
 */
export function withoutManagedFields(object: KubeObject): KubeObject {
  if (!("managedFields" in object.metadata)) return object;
  // Rebuilt rather than deleted: a deleted property leaves the object slower and no smaller.
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/**
 * The collections asked for, each read with paged cluster-wide LISTs, all at once: a handful of
 * requests per 500 objects, never one per object. A collection whose API is not served (Istio's
 * CRDs not installed) comes back empty when OPTIONAL names it; those METADATAONLY names come
 * with their metadata alone. No object keeps its managedFields; those KEEP names keep only what
 * their function leaves, as each page arrives.
 */
export async function readSnapshot(
  api: Pick<KubeApi, "list">,
  wanted: readonly Collection[],
  options: {
    optional?: readonly Collection[];
    /** Read when the caller may; left out of the snapshot (undefined) when it is forbidden. */
    ifAllowed?: readonly Collection[];
    namespaceLabelSelector?: string;
    metadataOnly?: readonly Collection[];
    keep?: { readonly [C in Collection]?: Keep };
  } = {},
): Promise<Snapshot> {
  const entries = await Promise.all(
    wanted.map(async (collection) => {
      const query = {
        ...QUERIES[collection],
        ...(collection === "namespaces" && options.namespaceLabelSelector ? { labelSelector: options.namespaceLabelSelector } : {}),
      };
      const items = await listOrAbsent(api, COLLECTIONS[collection], query, {
        metadataOnly: options.metadataOnly?.includes(collection) ?? false,
        optional: options.optional?.includes(collection) ?? false,
        ifAllowed: options.ifAllowed?.includes(collection) ?? false,
        keep: options.keep?.[collection] ?? withoutManagedFields,
      });
      return [collection, items] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/**
 * One paged LIST of PATH: none when OPTIONAL and its API is not served (404), undefined when
 * IFALLOWED and the caller may not read it (403); any other error is thrown.
 */
export async function listOrAbsent(
  api: Pick<KubeApi, "list">,
  path: string,
  query: Record<string, string>,
  options: { metadataOnly?: boolean; optional?: boolean; ifAllowed?: boolean; keep?: Keep },
): Promise<KubeObject[] | undefined> {
  try {
    return (await api.list(path, query, { metadataOnly: options.metadataOnly ?? false, keep: options.keep })).items;
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (options.optional && status === 404) return [];
    if (options.ifAllowed && status === 403) return undefined;
    throw error;
  }
}

/** Objects grouped by namespace. */
export function byNamespace(objects: readonly KubeObject[] = []): Map<string, KubeObject[]> {
  const groups = new Map<string, KubeObject[]>();
  for (const object of objects) {
    const namespace = object.metadata.namespace ?? "";
    const group = groups.get(namespace);
    if (group) group.push(object);
    else groups.set(namespace, [object]);
  }
  return groups;
}
