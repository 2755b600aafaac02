import { PAGE_SIZE, type KubeApi } from "../kube/client.js";
import { isForbidden, isNotFound } from "../kube/errors.js";
import type { KubeObject } from "../kube/object.js";
import { injectorConfigMapName, parseInjectorValues, withIstiodEnv, type RevisionInjection } from "../namespaces/revision-injection.js";
import { revisionHomes, type MutatingWebhookConfiguration } from "../namespaces/webhook-configurations.js";
import { COLLECTIONS } from "./snapshot.js";

/**
 * What each revision with an injection webhook injects now: one GET of its injector ConfigMap
 * per revision (a cluster has a handful), all at once. A revision whose ConfigMap is absent,
 * unreadable, or that the caller may not read is left out, and said in UNREAD: its pods' images
 * and sidecar placement are then not judged, and the rest of the report stands.
 */
export async function readInjections(
  api: Pick<KubeApi, "get">,
  configurations: readonly MutatingWebhookConfiguration[],
): Promise<{ injections: Map<string, RevisionInjection>; unread: string[] }> {
  const injections = new Map<string, RevisionInjection>();
  const unread: string[] = [];
  await Promise.all(
    [...revisionHomes(configurations)].map(async ([revision, home]) => {
      const read = await readInjectorValues(api, home, revision);
      if (typeof read === "string") return unread.push(`revision ${revision}: ${read}`);
      const injection = parseInjectorValues(revision, read.values);
      if (injection) injections.set(revision, injection);
      else unread.push(`revision ${revision}: ConfigMap ${read.where} has no values key that reads as a JSON object`);
    }),
  );
  return { injections, unread: unread.sort() };
}

/**
 * REVISION's injector ConfigMap's `values`, or why not, in words. The default revision's is
 * istio-sidecar-injector, or istio-sidecar-injector-default where Helm was given
 * revision=default: the first that exists.
 */
async function readInjectorValues(api: Pick<KubeApi, "get">, home: string, revision: string): Promise<{ values: string | undefined; where: string } | string> {
  const names = revision === "default" ? [injectorConfigMapName(revision), "istio-sidecar-injector-default"] : [injectorConfigMapName(revision)];
  for (const name of names) {
    const where = `${home}/${name}`;
    try {
      const map = await api.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${home}/configmaps/${name}`);
      return { values: map.data?.["values"], where };
    } catch (error) {
      if (isNotFound(error)) continue;
      if (isForbidden(error)) return `ConfigMap ${where} is forbidden to this user (grant it: README, "Cluster commands")`;
      return `ConfigMap ${where} could not be read: ${(error as Error).message}`;
    }
  }
  return `no ConfigMap ${names.map((name) => `${home}/${name}`).join(" or ")}`;
}

/** kube-apiserver's table of a collection: its columns, one row each, and the next page. */
interface Table {
  readonly columnDefinitions?: readonly { readonly name: string }[];
  readonly rows?: readonly { readonly cells?: readonly unknown[] }[];
  readonly metadata?: { readonly continue?: string };
}
const AS_TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io";

/**
 * Every node's kubelet version, read as the table `kubectl get nodes` prints (its VERSION column
 * is status.nodeInfo.kubeletVersion), in pages: a few bytes a node where the objects carry their
 * whole image lists. Why not, in words, when they cannot be read.
 */
export async function readKubelets(api: Pick<KubeApi, "get">): Promise<string[] | string> {
  const versions: string[] = [];
  let next: string | undefined;
  try {
    do {
      const page = await api.get<Table>(COLLECTIONS.nodes, { limit: PAGE_SIZE, continue: next, includeObject: "None" }, { accept: AS_TABLE });
      const column = page.columnDefinitions?.findIndex((c) => c.name === "Version") ?? -1;
      for (const row of page.rows ?? []) versions.push(column >= 0 && typeof row.cells?.[column] === "string" ? row.cells[column] : "");
      next = page.metadata?.continue || undefined;
    } while (next);
  } catch (error) {
    return isForbidden(error) ? "nodes are forbidden to this user" : `the nodes could not be read: ${(error as Error).message}`;
  }
  return versions;
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
 * DEPLOYMENTS when the caller has listed them, else a label-selected LIST), and, unless told not
 * to, the nodes' kubelets when a revision decides native sidecars by them.
 */
export async function readIstioInjection(
  api: Pick<KubeApi, "get" | "list">,
  configurations: readonly MutatingWebhookConfiguration[],
  deployments?: readonly KubeObject[],
  options: { kubelets?: boolean } = {},
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
  if (auto.length === 0 || options.kubelets === false) return { injections, kubelets: undefined, unjudged };
  const kubelets = await readKubelets(api);
  if (typeof kubelets === "string") unjudged.push(`revision ${auto.join(", ")}: native sidecars go by the nodes' kubelets, and ${kubelets}`);
  return { injections, kubelets: typeof kubelets === "string" ? undefined : kubelets, unjudged };
}
