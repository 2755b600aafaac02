import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../kube/object.js";
import { loadPolicy } from "../policy/load.js";
import { decideSandboxLabel, decideSidecar, labelPatch } from "./decisions.js";
import { desiredSidecar, type Sidecar } from "../namespaces/default-sidecar.js";

const HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n";
const policy = loadPolicy(HEADER);
const namespace = (
  name: string,
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
  extra: Partial<KubeObject> = {},
): KubeObject => ({
  metadata: { name, labels, annotations },
  ...extra,
});
const enabled = (name: string) => namespace(name, { "mesh-tailor.io/enabled": "true" });
const managed = (ns: string, hosts = ["./*", "istio-system/*"]): Sidecar => ({
  metadata: { name: "default", namespace: ns, resourceVersion: "7", labels: { "app.kubernetes.io/managed-by": "mesh-tailor" } },
  spec: { egress: [{ hosts }] },
});

describe("the default Sidecar of a namespace", () => {
  it("is created in an enabled namespace, scoped to the namespace and istio-system", () => {
    const action = decideSidecar(enabled("shop"), policy, undefined);
    assert.equal(action.kind, "create");
    assert.deepEqual(action.kind === "create" && action.sidecar, {
      apiVersion: "networking.istio.io/v1",
      kind: "Sidecar",
      metadata: { name: "default", namespace: "shop", labels: { "app.kubernetes.io/managed-by": "mesh-tailor" } },
      spec: { egress: [{ hosts: ["./*", "istio-system/*"] }] },
    });
  });

  it("is left as it is when it matches", () => {
    assert.deepEqual(decideSidecar(enabled("shop"), policy, managed("shop")), { kind: "none" });
  });

  it("is restored when edited, keeping the object's other labels and its resourceVersion", () => {
    const edited = managed("shop", ["*/*"]);
    edited.metadata.labels = { ...edited.metadata.labels, team: "shop" };
    const action = decideSidecar(enabled("shop"), policy, edited);
    assert.equal(action.kind, "restore");
    if (action.kind !== "restore") return;
    assert.deepEqual(action.sidecar.spec, { egress: [{ hosts: ["./*", "istio-system/*"] }] });
    assert.equal(action.sidecar.metadata.resourceVersion, "7");
    assert.equal(action.sidecar.metadata.labels?.["team"], "shop");
  });

  it("follows the policy's egress hosts", () => {
    const custom = loadPolicy(`${HEADER}namespaces:\n  defaultSidecar:\n    egressHosts: ["./*", "istio-system/*", "shared/*"]\n`);
    const action = decideSidecar(enabled("shop"), custom, managed("shop"));
    assert.equal(action.kind, "restore");
    assert.deepEqual(action.kind === "restore" && action.sidecar.spec, desiredSidecar("shop", custom.policy).spec);
  });

  it("is never touched when the user owns it, and reported only where one is wanted", () => {
    const theirs: Sidecar = { metadata: { name: "default", namespace: "shop" }, spec: { egress: [{ hosts: ["*/*"] }] } };
    assert.deepEqual(decideSidecar(enabled("shop"), policy, theirs), { kind: "foreign" });
    assert.deepEqual(decideSidecar(namespace("shop"), policy, theirs), { kind: "none" });
  });

  it("is deleted when the namespace is disabled or the policy turns it off", () => {
    assert.deepEqual(decideSidecar(namespace("shop"), policy, managed("shop")), { kind: "delete" });
    const off = loadPolicy(`${HEADER}namespaces:\n  defaultSidecar:\n    enabled: false\n`);
    assert.deepEqual(decideSidecar(enabled("shop"), off, managed("shop")), { kind: "delete" });
    assert.deepEqual(decideSidecar(namespace("shop"), policy, undefined), { kind: "none" });
  });

  it("is not created in a namespace being deleted", () => {
    const terminating = namespace("shop", { "mesh-tailor.io/enabled": "true" }, {}, { status: { phase: "Terminating" } });
    assert.deepEqual(decideSidecar(terminating, policy, undefined), { kind: "none" });
  });
});

describe("sandbox namespaces follow their base", () => {
  const sandbox = (labels: Record<string, string> = {}, annotations: Record<string, string> = {}) => namespace("shop--box-10326", labels, annotations);

  it("enables a sandbox of an enabled base, marking where that came from", () => {
    const action = decideSandboxLabel(sandbox(), enabled("shop"), policy);
    assert.deepEqual(action, { kind: "enable-sandbox", base: "shop" });
    assert.deepEqual(labelPatch(action), { metadata: { labels: { "mesh-tailor.io/enabled": "true" }, annotations: { "mesh-tailor.io/sandbox-of": "shop" } } });
  });

  it("leaves a sandbox alone while its base is not enabled or does not exist", () => {
    assert.deepEqual(decideSandboxLabel(sandbox(), namespace("shop"), policy), { kind: "none" });
    assert.deepEqual(decideSandboxLabel(sandbox(), undefined, policy), { kind: "none" });
  });

  it("disables a sandbox it enabled once the base is disabled", () => {
    const auto = sandbox({ "mesh-tailor.io/enabled": "true" }, { "mesh-tailor.io/sandbox-of": "shop" });
    const action = decideSandboxLabel(auto, namespace("shop"), policy);
    assert.deepEqual(action, { kind: "disable-sandbox", base: "shop" });
    assert.deepEqual(labelPatch(action), { metadata: { labels: { "mesh-tailor.io/enabled": null }, annotations: { "mesh-tailor.io/sandbox-of": null } } });
  });

  it("respects the user: an explicit label, or a label removed after auto-enabling, is theirs", () => {
    assert.deepEqual(decideSandboxLabel(sandbox({ "mesh-tailor.io/enabled": "false" }), enabled("shop"), policy), { kind: "none" });
    assert.deepEqual(decideSandboxLabel(sandbox({}, { "mesh-tailor.io/sandbox-of": "shop" }), enabled("shop"), policy), { kind: "none" });
    assert.deepEqual(decideSandboxLabel(sandbox({ "mesh-tailor.io/enabled": "true" }), namespace("shop"), policy), { kind: "none" });
  });

  it("does nothing for namespaces that are not sandboxes, or when autoEnable is off", () => {
    assert.deepEqual(decideSandboxLabel(namespace("shop"), enabled("shop"), policy), { kind: "none" });
    const off = loadPolicy(`${HEADER}sandbox:\n  autoEnable: false\n`);
    assert.deepEqual(decideSandboxLabel(sandbox(), enabled("shop"), off), { kind: "none" });
  });
});
