import { createHash } from "node:crypto";
import * as istio from "../keys/istio.js";
import * as meshTailor from "../keys/mesh-tailor.js";
import { ISTIO_PROXY } from "../pod/istio-proxy.js";
import type { Pod } from "../pod/types.js";

// A JSON pointer token (RFC 6901), so that a key with "/" or "~" never collides with a path.
const token = (key: string): string => (key.includes("~") || key.includes("/") ? key.replace(/~/g, "~0").replace(/\//g, "~1") : key);
const RECORD_PATHS = new Set(meshTailor.RECORDS.map((key) => `/metadata/annotations/${token(key)}`));

// The rollback's `istio.io/dataplane-mode: "none"` (mesh-tailor writes that value nowhere else),
// as changesOf gives it. No tailoring: it keeps a pod out of ambient without making one that
// was never in the mesh stale (the rollback restarts only pods in the mesh: with a proxy, or in
// ambient, whose record held "ambient").
const LEFT_AMBIENT = `/metadata/labels/${token(istio.DATAPLANE_MODE)} ${JSON.stringify(istio.DATAPLANE_NONE)}`;

/** Of the CHANGES an admission made, those that count as tailoring (mesh-tailor.io/tailoring, and a bare pod's staleness). */
export const recordedChanges = (changes: readonly string[]): readonly string[] =>
  changes.includes(LEFT_AMBIENT) ? changes.filter((change) => change !== LEFT_AMBIENT) : changes;

const namedItems = (value: readonly unknown[]): value is readonly { name: string }[] =>
  value.length > 0 && value.every((item) => item !== null && typeof item === "object" && typeof (item as { name?: unknown }).name === "string");

/**
 * Every leaf of VALUE under PATH, as JSON text, by its path. An empty object or list is no leaf:
 * `labels: {}` and no labels at all are the same to what the webhook writes. A list of named
 * items (containers, volumes) is keyed by name, its order a leaf of its own, so that moving the
 * proxy first changes two leaves, not every field of every container after it (fields the API
 * server added to them, which a pod template does not have, included).
 */
function flatten(value: unknown, path: string, into: Map<string, string>): Map<string, string> {
  const list: readonly unknown[] | undefined = Array.isArray(value) ? (value as unknown[]) : undefined;
  if (list && namedItems(list)) {
    into.set(`${path}#order`, JSON.stringify(list.map((item) => item.name)));
    for (const item of list) flatten(item, `${path}[${token(item.name)}]`, into);
  } else if (value !== null && typeof value === "object") {
    const entries = list ? list.map((v, i) => [String(i), v] as const) : Object.entries(value);
    for (const [key, child] of entries) flatten(child, `${path}/${token(key)}`, into);
  } else if (value !== undefined) {
    into.set(path, JSON.stringify(value));
  }
  return into;
}

type Shape = "named" | "plain" | "leaf";
const shapeOf = (value: unknown): Shape =>
  Array.isArray(value) && namedItems(value) ? "named" : value !== null && typeof value === "object" ? "plain" : "leaf";

/** The items of a named list by name, or undefined when two share one (flatten then merges their leaves). */
function byName(list: readonly { name: string }[]): Map<string, unknown> | undefined {
  const items = new Map(list.map((item) => [item.name, item] as const));
  return items.size === list.length ? items : undefined;
}

/** The leaves under PATH that differ, found by flattening both sides whole. */
function diffFlattened(before: unknown, after: unknown, path: string, changes: string[]): void {
  const was = flatten(before, path, new Map());
  const is = flatten(after, path, new Map());
  for (const leaf of new Set([...was.keys(), ...is.keys()])) {
    const now = is.get(leaf);
    if (was.get(leaf) !== now && !RECORD_PATHS.has(leaf)) changes.push(`${leaf} ${now ?? "(removed)"}`);
  }
}

/**
 * The leaves that differ between BEFORE and AFTER under PATH, as flatten would find them, but
 * without visiting what the mutations left as it was: they build a new object only along what
 * they change and share the rest, so a pod of megabytes costs what was written into it.
 */
function diff(before: unknown, after: unknown, path: string, changes: string[]): void {
  if (before === after) return;
  const shape = shapeOf(before);
  const afterShape = shapeOf(after);
  if (shape === "leaf" && afterShape === "leaf") {
    // Two leaves (undefined: none): what flatten would give, without building its maps.
    const now = after === undefined ? undefined : JSON.stringify(after);
    if ((before === undefined ? undefined : JSON.stringify(before)) !== now && !RECORD_PATHS.has(path)) changes.push(`${path} ${now ?? "(removed)"}`);
    return;
  }
  if (shape !== afterShape || shape === "leaf") return diffFlattened(before, after, path, changes);
  if (shape === "named") {
    const wasList = before as readonly { name: string }[];
    const isList = after as readonly { name: string }[];
    const was = byName(wasList);
    const is = byName(isList);
    if (!was || !is) return diffFlattened(before, after, path, changes);
    const order = JSON.stringify(isList.map((item) => item.name));
    if (JSON.stringify(wasList.map((item) => item.name)) !== order) changes.push(`${path}#order ${order}`);
    for (const [name, item] of is) if (was.get(name) !== item) diff(was.get(name), item, `${path}[${token(name)}]`, changes);
    for (const [name, item] of was) if (!is.has(name)) diff(item, undefined, `${path}[${token(name)}]`, changes);
    return;
  }
  // Own keys only: a key such as "constructor" on one side must not find the prototype's on the
  // other. A child both share is skipped before its path is even built.
  const was = before as Record<string, unknown>;
  const is = after as Record<string, unknown>;
  for (const key of Object.keys(is)) {
    const old = Object.hasOwn(was, key) ? was[key] : undefined;
    if (old !== is[key]) diff(old, is[key], `${path}/${token(key)}`, changes);
  }
  for (const key of Object.keys(was)) if (!Object.hasOwn(is, key)) diff(was[key], undefined, `${path}/${token(key)}`, changes);
}

/** What turned BEFORE into AFTER, leaf by leaf, sorted by path; the admission's own records left out. */
export function changesOf(before: Pod, after: Pod): string[] {
  const changes: string[] = [];
  diff(before, after, "", changes);
  return changes.sort();
}

/** The pod as Istio's classic injection would hand it back: an istio-proxy container after the app's. */
export function withClassicProxy(pod: Pod): Pod {
  return { ...pod, spec: { ...pod.spec, containers: [...pod.spec.containers, { name: ISTIO_PROXY, image: ISTIO_PROXY }] } };
}

/**
 * What the webhook writes on a pod, as one short hash (mesh-tailor.io/tailoring): every change it
 * made at admission (labels, annotations, grace period, ...) and, for a pod going into the mesh,
 * the edits it makes to a classic istio-proxy once Istio adds one. Two policies that tailor a pod
 * alike give the same hash, whatever else differs between them (another service's entry, the
 * controller's settings), so a pod is stale exactly when admitting its template now would write
 * something else.
 */
export function tailoringOf(admitted: readonly string[], proxyEdits: readonly string[] | undefined): string {
  const text = [...admitted, ...(proxyEdits ? ["--- once Istio adds its proxy", ...proxyEdits] : [])].join("\n");
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}
