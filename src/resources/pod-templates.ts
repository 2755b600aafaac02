import { isPodLike, type Pod } from "../pod/types.js";
import type { Workload } from "../pod/workload.js";

type JsonObject = Record<string, unknown>;

export interface PodSite {
  /** The pod, or a pod template's metadata and spec. */
  readonly pod: Pod;
  readonly namespace: string | undefined;
  /** The owning workload for a template; undefined for a Pod (its ownerReferences say). */
  readonly workload: Workload | undefined;
  /** Where it sits in the document, for messages. */
  readonly path: string;
  /** Returns a copy of the document with this site replaced. */
  readonly replace: (document: JsonObject, pod: Pod) => JsonObject;
}

const isObject = (value: unknown): value is JsonObject => value !== null && typeof value === "object" && !Array.isArray(value);
const nameOf = (object: JsonObject): string =>
  isObject(object["metadata"]) && typeof object["metadata"]["name"] === "string" ? object["metadata"]["name"] : "";
const namespaceOf = (object: JsonObject): string | undefined =>
  isObject(object["metadata"]) && typeof object["metadata"]["namespace"] === "string" ? object["metadata"]["namespace"] : undefined;

// Where each workload kind keeps its pod template.
const TEMPLATE_PATHS: Record<string, readonly string[]> = {
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  ReplicationController: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

function getPath(object: JsonObject, path: readonly string[]): unknown {
  let current: unknown = object;
  for (const key of path) current = isObject(current) ? current[key] : undefined;
  return current;
}

function setPath(object: JsonObject, path: readonly string[], value: unknown): JsonObject {
  const [head, ...rest] = path;
  if (head === undefined) return value as JsonObject;
  const child = isObject(object[head]) ? object[head] : {};
  return { ...object, [head]: rest.length === 0 ? value : setPath(child, rest, value) };
}

/** Every pod or pod template in a Kubernetes object (a List's items included). */
export function findPodSites(document: JsonObject, basePath: readonly string[] = []): PodSite[] {
  const kind = document["kind"];
  if (kind === "List" && Array.isArray(document["items"])) {
    return document["items"].flatMap((item, index) => {
      if (!isObject(item)) return [];
      return findPodSites(item, [...basePath, "items", String(index)]).map((site) => ({
        ...site,
        replace: (whole: JsonObject, pod: Pod) => {
          const items = (getPath(whole, [...basePath, "items"]) as unknown[]).slice();
          items[index] = site.replace(items[index] as JsonObject, pod);
          return setPath(whole, [...basePath, "items"], items);
        },
      }));
    });
  }
  if (kind === "Pod" && isPodLike(document)) {
    return [
      {
        pod: document,
        namespace: namespaceOf(document),
        workload: undefined,
        path: [...basePath].join(".") || "(document)",
        replace: (_whole, pod) => pod,
      },
    ];
  }
  const templatePath = typeof kind === "string" ? TEMPLATE_PATHS[kind] : undefined;
  if (!templatePath) return [];
  const template = getPath(document, templatePath);
  if (!isPodLike(template)) return [];
  return [
    {
      pod: template,
      namespace: namespaceOf(document),
      workload: { kind: kind as string, name: nameOf(document) },
      path: [...basePath, ...templatePath].join("."),
      replace: (whole, pod) => setPath(whole, templatePath, pod),
    },
  ];
}
