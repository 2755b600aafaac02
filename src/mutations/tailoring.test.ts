import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import * as meshTailor from "../keys/mesh-tailor.js";
import type { KubeObject } from "../kube/object.js";
import { judgePod } from "../ops/pod-state.js";
import { isSkipLabelled } from "../pod/skip-label.js";
import type { Pod } from "../pod/types.js";
import { loadPolicy, type CompiledPolicy } from "../policy/load.js";
import { arbitraryPod } from "../../test/fixtures/arbitrary-pods.js";
import { runPipeline } from "./pipeline.js";
import { changesOf, recordedChanges, withClassicProxy } from "./tailoring.js";

// A pod is stale (reason "policy") exactly when the webhook, admitting its template now, would
// write something else on it than it wrote then: on the pod as it arrives, and on the
// istio-proxy Istio's classic injection then adds. Policies are generated from sections that
// touch pods and sections that do not (the controller's, other services' entries).

const HEADER = { apiVersion: "mesh-tailor.io/v1alpha1", kind: "TailorPolicy" };

const entry = fc.record(
  {
    name: fc.constantFrom("reviews", "ratings", "details"),
    inject: fc.boolean(),
    revision: fc.constantFrom("canary", "stable"),
    proxyResources: fc.record({ cpu: fc.constantFrom("100m", "200m") }),
    annotations: fc.constant({ "sidecar.istio.io/logLevel": "debug" }),
    proxyConfig: fc.record({ concurrency: fc.constantFrom(1, 2) }),
    hostPassthrough: fc.constantFrom("outbound", "both"),
  },
  { requiredKeys: ["name"] },
);

const SECTIONS = {
  mesh: fc.record({ enabled: fc.boolean() }),
  defaults: fc.record({ inject: fc.boolean() }, { requiredKeys: [] }),
  services: fc.uniqueArray(entry, { selector: (e) => e.name, maxLength: 3 }),
  shutdown: fc.record({ marginSeconds: fc.constantFrom(5, 7), proxyPreStopAction: fc.constantFrom("sleep", "exec") }, { requiredKeys: [] }),
  startup: fc.record({ holdApplicationUntilProxyStarts: fc.boolean() }),
  locality: fc.record({ default: fc.constantFrom("eu.west", "us.east") }),
  sandbox: fc.record({ defaultBranch: fc.constantFrom("master", "main") }),
  // The controller's alone: no pod ever changes with it.
  namespaces: fc.record({ defaultSidecar: fc.record({ egressHosts: fc.constantFrom(["./*"], ["./*", "istio-system/*", "shared/*"]) }) }),
};
const arbitraryFields = fc.record(SECTIONS, { requiredKeys: [] });
const compile = (fields: object): CompiledPolicy => loadPolicy(stringify({ ...HEADER, ...fields }));

/** Two policies: unrelated, or (three times in four) the same but for one section, where a small edit's effect hides. */
const oneEdit = fc.oneof(...Object.entries(SECTIONS).map(([name, section]) => section.map((value) => ({ [name]: value }))));
const policyPairs: fc.Arbitrary<[CompiledPolicy, CompiledPolicy]> = fc
  .oneof(
    { weight: 1, arbitrary: fc.tuple(arbitraryFields, arbitraryFields) },
    { weight: 3, arbitrary: fc.tuple(arbitraryFields, oneEdit).map(([base, edit]) => [base, { ...base, ...edit }] as const) },
  )
  .map(([a, b]) => [compile(a), compile(b)]);

const withoutRecords = (pod: Pod): Pod => {
  const annotations = Object.fromEntries(Object.entries(pod.metadata?.annotations ?? {}).filter(([key]) => !meshTailor.RECORDS.includes(key)));
  return { ...pod, metadata: { ...pod.metadata, annotations } };
};

/**
 * TEMPLATE as the webhook receives a pod made from it: with what the ReplicaSet and kube-apiserver
 * add before admission webhooks run (a pod-template-hash label, the ServiceAccount's token volume
 * mounted in every container), which the template that status judges does not have.
 */
function asCreated(template: Pod): Pod {
  const mount = { name: "kube-api-access-x", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true };
  return {
    ...template,
    metadata: { ...template.metadata, labels: { ...template.metadata?.labels, "pod-template-hash": "7d9f8b6c5d" } },
    spec: {
      ...template.spec,
      serviceAccountName: "default",
      volumes: [...((template.spec["volumes"] as unknown[] | undefined) ?? []), { name: "kube-api-access-x", projected: { sources: [] } }],
      containers: template.spec.containers.map((c) => ({ ...c, volumeMounts: [...((c["volumeMounts"] as unknown[] | undefined) ?? []), mount] })),
    },
  };
}

/** A pod made from TEMPLATE under POLICY, as it runs: admitted, injected by Istio when selected, admitted again. */
function admit(template: Pod, policy: CompiledPolicy): KubeObject {
  const first = runPipeline({ pod: asCreated(template), namespace: "shop" }, policy);
  const pod = first.decision?.selected ? runPipeline({ pod: withClassicProxy(first.pod), namespace: "shop" }, policy).pod : first.pod;
  return { ...pod, metadata: { ...pod.metadata, name: "p", namespace: "shop" } } as KubeObject;
}

/** What the webhook writes on TEMPLATE under POLICY: at admission, and on the proxy Istio adds. */
function written(template: Pod, policy: CompiledPolicy): { admitted: string[]; proxy: string[] } {
  const first = runPipeline({ pod: template, namespace: "shop" }, policy);
  const injected = withClassicProxy(withoutRecords(first.pod));
  const second = first.decision?.selected ? changesOf(injected, withoutRecords(runPipeline({ pod: injected, namespace: "shop" }, policy).pod)) : [];
  // The rollback's dataplane-mode "none" is no tailoring (tailoring.ts): a pod outside the mesh is not restarted for it.
  const admitted = [...recordedChanges(changesOf(template, withoutRecords(first.pod)))];
  return { admitted, proxy: second };
}

describe("stale means what re-admission would change", () => {
  it("a pod admitted under one policy is stale under another exactly when its template would now be tailored differently", () => {
    fc.assert(
      fc.property(
        // A skip-labelled pod is judged only under the rollback, and on its proxy alone (pod-state.test.ts).
        arbitraryPod.filter(
          (pod) =>
            !pod.spec.containers.some((c) => c.name === "istio-proxy") &&
            !(pod.spec.initContainers ?? []).some((c) => c.name === "istio-proxy") &&
            !isSkipLabelled(pod),
        ),
        policyPairs,
        (template, [then, now]) => {
          const judged = judgePod(admit(template, then), template, true, now);
          const stale = judged.why.some((w) => w.kind === "policy");
          const differs = JSON.stringify(written(template, then)) !== JSON.stringify(written(template, now));
          assert.equal(
            stale,
            differs,
            stale ? `stale, yet nothing would change: ${judged.reasons.join("; ")}` : "current, yet re-admission would write something else",
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it("an edit that changes no pod (the controller's settings, another service's entry) leaves every pod current", () => {
    const base = `apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices:\n  - name: reviews\n`;
    const then = loadPolicy(base);
    const now = loadPolicy(
      `${base}  - name: ratings\n    revision: canary\nnamespaces:\n  defaultSidecar:\n    egressHosts: ["./*", "istio-system/*", "shared/*"]\n`,
    );
    const template: Pod = { metadata: { labels: { app: "reviews" } }, spec: { containers: [{ name: "app", image: "reviews:1" }] } };
    assert.notEqual(then.revision, now.revision);
    const judged = judgePod(admit(template, then), template, true, now);
    assert.deepEqual(judged.reasons, []);
  });

  it("the system-wide rollback makes stale only the pods it would change", () => {
    const then = loadPolicy("apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices:\n  - name: reviews\n");
    const now = loadPolicy("apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nmesh:\n  enabled: false\nservices:\n  - name: reviews\n");
    const pod = (app: string): Pod => ({ metadata: { labels: { app } }, spec: { containers: [{ name: "app", image: `${app}:1` }] } });
    const judge = (template: Pod) => judgePod(admit(template, then), template, true, now).why.map((w) => w.kind);
    assert.deepEqual(judge(pod("details")), [], "never in the mesh: nothing changes for it");
    assert.deepEqual(judge(pod("reviews")), ["policy", "injection"], "in the mesh: to be rolled back, and its proxy to go");
  });
});

// changesOf's definition: every leaf of both pods, compared path by path. changesOf itself skips
// what the two share, so a pod of megabytes costs what the webhook wrote into it.
function leaves(value: unknown, path: string, into: Map<string, string>): Map<string, string> {
  const named =
    Array.isArray(value) && value.length > 0 && value.every((v) => v !== null && typeof v === "object" && typeof (v as { name?: unknown }).name === "string");
  if (named) {
    const list = value as { name: string }[];
    into.set(`${path}#order`, JSON.stringify(list.map((item) => item.name)));
    for (const item of list) leaves(item, `${path}[${item.name.replace(/~/g, "~0").replace(/\//g, "~1")}]`, into);
  } else if (value !== null && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) leaves(child, `${path}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`, into);
  } else if (value !== undefined) into.set(path, JSON.stringify(value));
  return into;
}
const RECORDS = new Set(meshTailor.RECORDS.map((key) => `/metadata/annotations/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`));
function changesByDefinition(before: unknown, after: unknown): string[] {
  const was = leaves(before, "", new Map());
  const is = leaves(after, "", new Map());
  return [...new Set([...was.keys(), ...is.keys()])]
    .filter((path) => !RECORDS.has(path) && was.get(path) !== is.get(path))
    .map((path) => `${path} ${is.get(path) ?? "(removed)"}`)
    .sort();
}

describe("changesOf", () => {
  const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      fc.constantFrom(null, 0, 1, "", "a", true),
      fc.array(tie("value"), { maxLength: 3 }),
      fc.array(fc.record({ name: fc.constantFrom("app", "istio-proxy", "a/b", "x~y"), image: tie("value") }), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom("a", "b", "0", "constructor", "__proto__", "x/y", "mesh-tailor.io/tailoring"), tie("value"), { maxKeys: 3 }),
    ),
  })).value;

  /** AFTER built from BEFORE the way mutations build it: new objects along the edits, the rest shared. */
  const edited = (before: unknown, edits: readonly { path: readonly number[]; value: unknown }[]): unknown => {
    let after = before;
    for (const { path, value } of edits) {
      const rebuild = (node: unknown, depth: number): unknown => {
        if (node === null || typeof node !== "object") return value;
        const keys = Object.keys(node);
        if (keys.length === 0 || depth === path.length) return value;
        const key = keys[path[depth]! % keys.length]!;
        const copy: Record<string, unknown> = Array.isArray(node) ? ([...(node as unknown[])] as unknown as Record<string, unknown>) : { ...node };
        if (key === "__proto__")
          Object.defineProperty(copy, key, {
            value: rebuild((node as Record<string, unknown>)[key], depth + 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        else copy[key] = rebuild((node as Record<string, unknown>)[key], depth + 1);
        return copy;
      };
      after = rebuild(after, 0);
    }
    return after;
  };
  const edits = fc.array(fc.record({ path: fc.array(fc.nat(5), { maxLength: 4 }), value: json }), { maxLength: 3 });

  it("finds what the definition finds, whether the two pods share structure or not", () => {
    fc.assert(
      fc.property(json, json, edits, (before, other, changes) => {
        const after = edited(before, changes);
        assert.deepEqual(changesOf(before as Pod, after as Pod), changesByDefinition(before, after));
        assert.deepEqual(changesOf(before as Pod, structuredClone(after) as Pod), changesByDefinition(before, after));
        assert.deepEqual(changesOf(before as Pod, other as Pod), changesByDefinition(before, other));
      }),
      { numRuns: 2_000 },
    );
  });
});
