import type { KubeApi } from "../kube/client.js";
import { isForbidden, isNotFound } from "../kube/errors.js";
import type { KubeObject } from "../kube/object.js";
import { injectorConfigMapName, parseInjectorValues, withIstiodEnv, type RevisionInjection } from "../namespaces/revision-injection.js";
import { revisionHomes, type MutatingWebhookConfiguration } from "../namespaces/webhook-configurations.js";
import { COLLECTIONS } from "./snapshot.js";

/**
 * What each revision with an injection webhook injects now: one GET of its injector ConfigMap
 * per revision (a cluster has a handful), all at once. A revision whose ConfigMap is absent,
 * unreadable, or that the caller may not read is left out, and said in UNREAD: its pods' images
 * and sidecar placement are then not judged.
 */
export async function readInjections(
  api: Pick<KubeApi, "get">,
  configurations: readonly MutatingWebhookConfiguration[],
): Promise<{ injections: Map<string, RevisionInjection>; unread: string[] }> {
  const injections = new Map<string, RevisionInjection>();
  const unread: string[] = [];
  await Promise.all(
    [...revisionHomes(configurations)].map(async ([revision, home]) => {
      const where = `${home}/${injectorConfigMapName(revision)}`;
      try {
        const map = await api.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${home}/configmaps/${injectorConfigMapName(revision)}`);
        const injection = parseInjectorValues(revision, map.data?.["values"]);
        if (injection) injections.set(revision, injection);
        else unread.push(`revision ${revision}: ConfigMap ${where} has no values key that reads as JSON`);
      } catch (error) {
        if (isNotFound(error)) unread.push(`revision ${revision}: no ConfigMap ${where}`);
        else if (isForbidden(error)) unread.push(`revision ${revision}: ConfigMap ${where} is forbidden to this user (grant it: README, "Cluster commands")`);
        else throw error;
      }
    }),
  );
  return { injections, unread: unread.sort() };
}

/** Every node's kubelet version (one paged LIST); undefined when the caller may not list nodes. */
export async function readKubelets(api: Pick<KubeApi, "list">): Promise<string[] | undefined> {
  try {
    const { items } = await api.list(COLLECTIONS.nodes);
    return items.map((node) => (node["status"] as { nodeInfo?: { kubeletVersion?: string } } | undefined)?.nodeInfo?.kubeletVersion ?? "");
  } catch (error) {
    if (isForbidden(error)) return undefined;
    throw error;
  }
}

/** What Istio injects now, as far as the caller may read it (readIstioInjection). */
export interface IstioInjection {
  readonly injections: ReadonlyMap<string, RevisionInjection>;
  readonly kubelets: readonly string[] | undefined;
  /** What could not be read, in words: pods are not judged for it. */
  readonly unjudged: readonly string[];
}

/**
 * Each revision's injection (readInjections), with ENABLE_NATIVE_SIDECARS from its istiod (from
 * DEPLOYMENTS when the caller has listed them, else a label-selected LIST), and the nodes'
 * kubelets when a revision decides native sidecars by them.
 */
export async function readIstioInjection(
  api: Pick<KubeApi, "get" | "list">,
  configurations: readonly MutatingWebhookConfiguration[],
  deployments?: readonly KubeObject[],
): Promise<IstioInjection> {
  const [read, istiods] = await Promise.all([
    readInjections(api, configurations),
    deployments
      ? deployments.filter((d) => d.metadata.labels?.["app"] === "istiod")
      : api.list(COLLECTIONS.deployments, { labelSelector: "app=istiod" }).then(
          (list) => list.items,
          (error: unknown) => {
            if (isForbidden(error)) return [];
            throw error;
          },
        ),
  ]);
  const injections = new Map([...read.injections].map(([revision, injection]) => [revision, withIstiodEnv(injection, istiods)]));
  const unjudged = [...read.unread];
  const auto = [...injections.values()].filter((i) => i.nativeSidecars === "auto").map((i) => i.revision);
  const kubelets = auto.length > 0 ? await readKubelets(api) : undefined;
  if (auto.length > 0 && !kubelets)
    unjudged.push(`revision ${auto.join(", ")}: native sidecars go by the nodes' kubelets, and nodes are forbidden to this user`);
  return { injections, kubelets, unjudged };
}
