// What the fuzz suite sends: each case is a request body and what a correct answer looks like.
import fc from "fast-check";
import type { Pod } from "../../src/pod/types.js";
import { arbitraryPod, namespaces } from "../../test/fixtures/arbitrary-pods.js";
import { podCreateReview } from "../../test/fixtures/reviews.js";

export interface Case {
  readonly category: string;
  readonly body: string | Buffer;
  /** The review's uid and object when the body is an AdmissionReview kube-apiserver could send. */
  readonly review?: { uid: string; object: unknown };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const validUid = (uid: unknown): uid is string => typeof uid === "string" && uid.length > 0 && uid.length <= 128;

/** Whether a parsed body is a well-formed AdmissionReview (the wire contract, restated independently). */
function asReview(value: unknown): Case["review"] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const { apiVersion, kind, request } = value as Record<string, unknown>;
  if (kind !== "AdmissionReview" || (apiVersion !== "admission.k8s.io/v1" && apiVersion !== "admission.k8s.io/v1beta1")) return undefined;
  if (request === null || typeof request !== "object" || Array.isArray(request)) return undefined;
  const { uid, object } = request as Record<string, unknown>;
  return validUid(uid) ? { uid, object } : undefined;
}

const reviewCase = (category: string, value: unknown, text = JSON.stringify(value)): Case => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { category, body: text }; // an insertion landed inside a string: malformed, still worth sending
  }
  const review = asReview(parsed);
  return review ? { category, body: text, review } : { category, body: text };
};

const uids = fc.uuid();
const reviews = fc.record({ pod: arbitraryPod, namespace: namespaces, uid: uids, version: fc.constantFrom("admission.k8s.io/v1", "admission.k8s.io/v1beta1") });

/** Generated pods, as kube-apiserver would send them. */
export const generatedPods: fc.Arbitrary<Case> = reviews.map(({ pod, namespace, uid, version }) =>
  reviewCase("generated pod", podCreateReview(pod, { namespace, uid, version })),
);

/** Every path (as keys) to a value in a JSON tree, the root included. */
function pathsOf(value: unknown, prefix: (string | number)[] = [], into: (string | number)[][] = []): (string | number)[][] {
  into.push(prefix);
  if (Array.isArray(value)) value.forEach((child, i) => pathsOf(child, [...prefix, i], into));
  else if (value !== null && typeof value === "object") for (const [key, child] of Object.entries(value)) pathsOf(child, [...prefix, key], into);
  return into;
}

function replaceAt(root: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  parent[path.at(-1)!] = replacement;
  return copy;
}

const typeOf = (value: unknown): string => (value === null ? "null" : Array.isArray(value) ? "array" : typeof value);

/** A generated review with the value at one path, anywhere in it, replaced by JSON of another type. */
export const wrongTypes: fc.Arbitrary<Case> = fc.tuple(reviews, fc.nat(), fc.jsonValue({ maxDepth: 3 })).map(([{ pod, namespace, uid }, pick, replacement]) => {
  const review = podCreateReview(pod, { namespace, uid });
  const paths = pathsOf(review);
  const path = paths[pick % paths.length]!;
  let value = replacement as Json;
  let current: unknown = review;
  for (const key of path) current = (current as Record<string | number, unknown>)[key];
  if (typeOf(value) === typeOf(current)) value = typeOf(current) === "string" ? 42 : "a string";
  return reviewCase("wrong type", replaceAt(review, path, value));
});

const POLLUTERS = [
  '"__proto__": {"polluted": "yes", "allowed": false}',
  '"constructor": {"prototype": {"polluted": "yes"}}',
  '"prototype": {"polluted": "yes"}',
  '"__proto__": null',
];

/** Prototype-pollution keys written into a generated review's JSON at random objects. */
export const pollution: fc.Arbitrary<Case> = fc
  .tuple(reviews, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...POLLUTERS)), { minLength: 1, maxLength: 4 }))
  .map(([{ pod, namespace, uid }, insertions]) => {
    let text = JSON.stringify(podCreateReview(pod, { namespace, uid }));
    for (const [pick, polluter] of insertions) {
      const openings = [...text.matchAll(/\{(?=")/g)].map((m) => m.index);
      if (openings.length === 0) continue;
      const at = openings[pick % openings.length]! + 1;
      text = `${text.slice(0, at)}${polluter},${text.slice(at)}`;
    }
    return reviewCase("prototype pollution", undefined, text);
  });

/** Not JSON, cut-off JSON, invalid UTF-8, or JSON that is not an AdmissionReview. */
export const malformed: fc.Arbitrary<Case> = fc.oneof(
  fc.string({ maxLength: 200 }).map((text) => ({ category: "malformed", body: text })),
  fc.tuple(reviews, fc.nat()).map(([{ pod, uid }, cut]) => {
    const text = JSON.stringify(podCreateReview(pod, { uid }));
    return { category: "malformed", body: text.slice(0, cut % text.length) };
  }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ category: "malformed", body: Buffer.from(bytes) })),
  fc.jsonValue({ maxDepth: 4 }).map((value) => reviewCase("malformed", value)),
);

/** Large and deep: deep nesting, huge strings, many keys, many containers, a deep kind. */
export const huge: fc.Arbitrary<Case> = fc
  .tuple(
    fc.constantFrom("deep field", "deep kind", "huge string", "many annotations", "many containers", "huge proxy config", "huge preStop"),
    fc.integer({ min: 1, max: 6 }),
    uids,
  )
  .map(([shape, scale, uid]): Case => {
    const pod = structuredClone(arbitraryBase);
    const review = podCreateReview(pod, { uid });
    if (shape === "deep kind") {
      const depth = 20_000 * scale;
      return { category: "huge", body: `{"apiVersion":"admission.k8s.io/v1","kind":${'{"a":'.repeat(depth)}1${"}".repeat(depth)},"request":{"uid":"${uid}"}}` };
    }
    if (shape === "deep field") {
      const depth = 2_000 * scale;
      const text = JSON.stringify(review).replace('"containers":', `"future":${"[".repeat(depth)}${"]".repeat(depth)},"containers":`);
      return reviewCase("huge", undefined, text);
    }
    if (shape === "huge string") pod.metadata!.annotations = { note: "x".repeat(scale * 1024 * 1024) };
    if (shape === "many annotations")
      pod.metadata!.annotations = Object.fromEntries(Array.from({ length: scale * 15_000 }, (_, i) => [`example.com/k${i}`, "v"]));
    if (shape === "many containers")
      pod.spec.containers = Array.from({ length: scale * 2_000 }, (_, i) => ({
        name: `c${i}`,
        image: "i",
        lifecycle: { preStop: { exec: { command: ["sleep", String(i)] } } },
      }));
    if (shape === "huge proxy config")
      pod.metadata!.annotations = { "proxy.istio.io/config": Array.from({ length: scale * 40_000 }, (_, i) => `k${i}: v`).join("\n") };
    if (shape === "huge preStop") pod.spec.containers[0]!.lifecycle = { preStop: { exec: { command: ["sleep", "9".repeat(scale * 100)] } } };
    review.request.object = pod;
    return reviewCase("huge", review);
  });

// A selected service's pod, so every customization runs on the large shapes.
const arbitraryBase: Pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    generateName: "reviews-",
    labels: { app: "reviews" },
    annotations: {},
    ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "reviews-5f7b9c8d4", controller: true, uid: "1" }],
  },
  spec: { containers: [{ name: "app", image: "app:1" }] },
};
