import { createHash } from "node:crypto";
import * as meshTailor from "../keys/mesh-tailor.js";
import { ISTIO_PROXY } from "../pod/istio-proxy.js";
import type { Pod } from "../pod/types.js";

// A JSON pointer token (RFC 6901), so that a key with "/" or "~" never collides with a path.
const token = (key: string): string => key.replace(/~/g, "~0").replace(/\//g, "~1");
const RECORD_PATHS = new Set(meshTailor.RECORDS.map((key) => `/metadata/annotations/${token(key)}`));

/** Every leaf of VALUE under PATH, as JSON text, by its JSON pointer; empty objects and arrays are leaves too. */
function flatten(value: unknown, path: string, into: Map<string, string>): Map<string, string> {
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (entries.length === 0) into.set(path, Array.isArray(value) ? "[]" : "{}");
    for (const [key, child] of entries) flatten(child, `${path}/${token(key)}`, into);
  } else if (value !== undefined) {
    into.set(path, JSON.stringify(value));
  }
  return into;
}

/** What turned BEFORE into AFTER, leaf by leaf, sorted by path; the admission's own records left out. */
export function changesOf(before: Pod, after: Pod): string[] {
  const was = flatten(before, "", new Map());
  const is = flatten(after, "", new Map());
  const changes: string[] = [];
  for (const path of new Set([...was.keys(), ...is.keys()])) {
    if (RECORD_PATHS.has(path)) continue;
    const now = is.get(path);
    if (was.get(path) !== now) changes.push(`${path} ${now ?? "(removed)"}`);
  }
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
