import type { KubeObject } from "../kube/object.js";
import type { KubeApi } from "../kube/client.js";

// The collections a cluster-wide read may need, by the path of their cluster-wide LIST.
export const COLLECTIONS = {
  namespaces: "/api/v1/namespaces",
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

/**
 * The collections asked for, each read with paged cluster-wide LISTs, all at once: a handful of
 * requests per 500 objects, never one per object. A collection whose API is not served (Istio's
 * CRDs not installed) comes back empty when OPTIONAL names it; those METADATAONLY names come
 * with their metadata alone.
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
  } = {},
): Promise<Snapshot> {
  const entries = await Promise.all(
    wanted.map(async (collection) => {
      const query = {
        ...QUERIES[collection],
        ...(collection === "namespaces" && options.namespaceLabelSelector ? { labelSelector: options.namespaceLabelSelector } : {}),
      };
      try {
        return [
          collection,
          (await api.list(COLLECTIONS[collection], query, { metadataOnly: options.metadataOnly?.includes(collection) ?? false })).items,
        ] as const;
      } catch (error) {
        if (options.optional?.includes(collection) && (error as { status?: number }).status === 404) return [collection, [] as KubeObject[]] as const;
        if (options.ifAllowed?.includes(collection) && (error as { status?: number }).status === 403) return [collection, undefined] as const;
        throw error;
      }
    }),
  );
  return Object.fromEntries(entries);
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
