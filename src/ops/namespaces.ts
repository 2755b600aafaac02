import * as meshTailor from "../keys/mesh-tailor.js";
import type { CompiledPolicy } from "../policy/load.js";
import { sandboxBaseOf } from "../namespaces/sandbox.js";
import { DEFAULT_SIDECAR_NAME, isManaged, SIDECAR_PATH } from "../namespaces/default-sidecar.js";
import { type KubeObject } from "../kube/object.js";
import { isConflict, isNotFound } from "../kube/errors.js";
import { MERGE_PATCH, type KubeApi } from "../kube/client.js";
import { isEnabled, istioLabelWarning, istioNamespaceLabels } from "../namespaces/namespace-labels.js";
import { judgePod, ownerTemplate } from "./pod-state.js";
import { injectionProblem } from "../namespaces/injection.js";
import { byNamespace, COLLECTIONS, readSnapshot } from "./snapshot.js";
import {
  DEFAULT_INSTALL_NAMESPACE,
  installNamespaceOf,
  injectableRevisions,
  istioInjectorsFor,
  istioInjectsEveryPod,
  MESH_TAILOR_WEBHOOK_CONFIGURATION,
  type MutatingWebhookConfiguration,
} from "../namespaces/webhook-configurations.js";

// Namespaces that run the cluster or the mesh itself: a label selector never enables them.
const SYSTEM_NAMESPACES = new Set(["kube-system", "kube-public", "kube-node-lease", "istio-system"]);

export interface Targets {
  readonly names: readonly string[];
  readonly selector: string | undefined;
}

export interface NamespaceChange {
  readonly namespace: string;
  /** enabled, disabled, unchanged, refused, not found. */
  readonly result: string;
  readonly notes: readonly string[];
}

/** The namespace mesh-tailor's webhook runs in, from its webhook configuration (mesh-tailor if unreadable). */
async function webhookNamespace(api: KubeApi): Promise<string> {
  try {
    return installNamespaceOf(await api.get<MutatingWebhookConfiguration>(`${COLLECTIONS.webhookConfigurations}/${MESH_TAILOR_WEBHOOK_CONFIGURATION}`));
  } catch {
    return DEFAULT_INSTALL_NAMESPACE;
  }
}

/** The namespaces named or selected, read with one paged LIST; names that do not exist are reported. */
async function resolveTargets(api: KubeApi, targets: Targets): Promise<{ found: KubeObject[]; missing: string[] }> {
  const { items } = await api.list("/api/v1/namespaces", targets.selector ? { labelSelector: targets.selector } : {});
  if (targets.selector) return { found: items, missing: [] };
  const byName = new Map(items.map((n) => [n.metadata.name, n]));
  return { found: targets.names.flatMap((name) => byName.get(name) ?? []), missing: targets.names.filter((name) => !byName.has(name)) };
}

/**
 * Labels namespaces mesh-tailor.io/enabled=true. A namespace the user enables is theirs: the
 * sandbox mark (which lets a sandbox follow its base) is removed. kube-system and the webhook's
 * own namespace are refused, and Istio's namespace labels get a warning that says what they do.
 */
export async function enableNamespaces(api: KubeApi, targets: Targets, dryRun: boolean): Promise<NamespaceChange[]> {
  const [{ found, missing }, ownNamespace] = await Promise.all([resolveTargets(api, targets), webhookNamespace(api)]);
  const changes: NamespaceChange[] = missing.map((namespace) => ({ namespace, result: "not found", notes: [`no namespace ${namespace}`] }));
  for (const namespace of found) {
    const name = namespace.metadata.name;
    if (targets.selector && SYSTEM_NAMESPACES.has(name) && name !== "kube-system") {
      // A selector sweeps wide; Kubernetes' and Istio's own namespaces are enabled only by name.
      changes.push({
        namespace: name,
        result: "refused",
        notes: [
          `${name} is ${name.startsWith("istio") ? "Istio's" : "Kubernetes'"} own: matched by -l, but enabled only when named (namespaces enable ${name})`,
        ],
      });
      continue;
    }
    if (name === "kube-system" || name === ownNamespace) {
      changes.push({
        namespace: name,
        result: "refused",
        notes: [
          name === "kube-system"
            ? "kube-system is never tailored: its pods run the cluster itself"
            : `${name} is where mesh-tailor runs: its webhook never tailors its own pods`,
        ],
      });
      continue;
    }
    const notes: string[] = [];
    const warning = istioLabelWarning(namespace);
    if (warning) notes.push(`warning: ${warning}`);
    const marked = namespace.metadata.annotations?.[meshTailor.SANDBOX_OF] !== undefined;
    if (isEnabled(namespace) && !marked) {
      changes.push({ namespace: name, result: "unchanged", notes: ["already enabled", ...notes] });
      continue;
    }
    const patch = { metadata: { labels: { [meshTailor.ENABLED]: "true" }, ...(marked ? { annotations: { [meshTailor.SANDBOX_OF]: null } } : {}) } };
    await api.request("PATCH", `/api/v1/namespaces/${name}`, { body: patch, contentType: MERGE_PATCH, query: dryRun ? { dryRun: "All" } : {} });
    changes.push({ namespace: name, result: dryRun ? "would enable" : "enabled", notes });
  }
  return changes;
}

/**
 * Removes the label, and the managed default Sidecar (never a user's own). A sandbox keeps
 * (or gets) the sandbox mark, so the controller does not enable it again with its base.
 */
export async function disableNamespaces(api: KubeApi, targets: Targets, policy: CompiledPolicy, dryRun: boolean): Promise<NamespaceChange[]> {
  const [{ found, missing }, sidecars] = await Promise.all([
    resolveTargets(api, targets),
    readSnapshot(api, ["defaultSidecars"], { optional: ["defaultSidecars"] }),
  ]);
  const sidecarOf = new Map((sidecars.defaultSidecars ?? []).map((s) => [s.metadata.namespace ?? "", s]));
  const query = dryRun ? { dryRun: "All" } : {};
  const changes: NamespaceChange[] = missing.map((namespace) => ({ namespace, result: "not found", notes: [`no namespace ${namespace}`] }));
  for (const namespace of found) {
    const name = namespace.metadata.name;
    const notes: string[] = [];
    const base = sandboxBaseOf(name, policy);
    const keepOut = base !== undefined && policy.policy.sandbox.autoEnable && namespace.metadata.annotations?.[meshTailor.SANDBOX_OF] === undefined;
    const labelled = namespace.metadata.labels?.[meshTailor.ENABLED] !== undefined;
    if (labelled || keepOut) {
      const patch = { metadata: { labels: { [meshTailor.ENABLED]: null }, ...(keepOut ? { annotations: { [meshTailor.SANDBOX_OF]: base } } : {}) } };
      await api.request("PATCH", `/api/v1/namespaces/${name}`, { body: patch, contentType: MERGE_PATCH, query });
      if (keepOut) notes.push(`a sandbox of ${base}: marked so that it stays out when ${base} is enabled`);
    }
    const sidecar = sidecarOf.get(name);
    if (sidecar && isManaged(sidecar)) {
      let note = `${dryRun ? "would remove" : "removed"} the managed Sidecar ${DEFAULT_SIDECAR_NAME}`;
      try {
        // Preconditions: never the Sidecar someone put in its place, or edited, since it was read.
        const preconditions = { uid: sidecar.metadata.uid, resourceVersion: sidecar.metadata.resourceVersion };
        await api.request("DELETE", `${SIDECAR_PATH}/namespaces/${name}/sidecars/${DEFAULT_SIDECAR_NAME}`, {
          query,
          body: { apiVersion: "v1", kind: "DeleteOptions", preconditions },
        });
      } catch (error) {
        // The controller saw the label go and removed it first: the same outcome.
        if (isConflict(error))
          note = `Sidecar ${DEFAULT_SIDECAR_NAME} changed since it was read: left as it is (the controller removes it if it is still mesh-tailor's)`;
        else if (!isNotFound(error)) throw error;
      }
      notes.push(note);
    } else if (sidecar) {
      notes.push(`Sidecar ${DEFAULT_SIDECAR_NAME} is not mesh-tailor's: left as it is`);
    }
    const result = labelled || notes.length > 0 ? (dryRun ? "would disable" : "disabled") : "unchanged";
    changes.push({ namespace: name, result, notes: result === "unchanged" ? ["not enabled", ...notes] : notes });
  }
  return changes;
}

export type SidecarState = "managed" | "user's own" | "missing" | "-";

export interface NamespaceRow {
  readonly namespace: string;
  readonly enabled: boolean;
  readonly istioLabels: readonly string[];
  readonly defaultSidecar: SidecarState;
  readonly pods: number;
  readonly selected: number;
  readonly withProxy: number;
  readonly stale: number;
  /** What is wrong, when something is: `list` exits 1. */
  readonly conflicts: readonly string[];
}

/**
 * Every namespace (or those SELECTOR picks) with its state: read with paged cluster-wide LISTs
 * (namespaces, pods, the controllers that own pods, default Sidecars), then judged per pod with
 * the webhook's own pipeline on the pod's template.
 */
export async function listNamespaces(api: KubeApi, policy: CompiledPolicy, selector: string | undefined): Promise<NamespaceRow[]> {
  const snapshot = await readSnapshot(
    api,
    ["namespaces", "pods", "replicaSets", "statefulSets", "daemonSets", "jobs", "defaultSidecars", "webhookConfigurations"],
    {
      optional: ["defaultSidecars"],
      ...(selector ? { namespaceLabelSelector: selector } : {}),
    },
  );
  const owners = new Map<string, KubeObject>();
  for (const collection of [snapshot.replicaSets, snapshot.statefulSets, snapshot.daemonSets, snapshot.jobs])
    for (const owner of collection ?? []) owners.set(owner.metadata.uid ?? "", owner);
  const podsOf = byNamespace(snapshot.pods);
  const sidecarOf = new Map((snapshot.defaultSidecars ?? []).map((s) => [s.metadata.namespace ?? "", s]));
  const wantsSidecar = policy.policy.namespaces.defaultSidecar.enabled;
  const webhookConfigurations = (snapshot.webhookConfigurations ?? []) as MutatingWebhookConfiguration[];
  const injectors = { revisions: injectableRevisions(webhookConfigurations) };

  return (snapshot.namespaces ?? [])
    .map((namespace) => {
      const name = namespace.metadata.name;
      const enabled = isEnabled(namespace);
      const istioLabels = istioNamespaceLabels(namespace);
      const sidecar = sidecarOf.get(name);
      const defaultSidecar: SidecarState = sidecar ? (isManaged(sidecar) ? "managed" : "user's own") : enabled && wantsSidecar ? "missing" : "-";
      let selected = 0;
      let withProxy = 0;
      let stale = 0;
      // Judged as status judges them: the same pipeline, and the same reading of Istio's webhooks.
      const problems = new Map<string, number>();
      const pods = podsOf.get(name) ?? [];
      for (const pod of pods) {
        const judged = judgePod(pod, ownerTemplate(pod, owners), enabled, policy, undefined, injectors);
        if (enabled && judged.verdict.selected) selected += 1;
        if (judged.hasProxy) withProxy += 1;
        if (judged.stale) stale += 1;
        if (!enabled || !judged.verdict.selected) continue;
        const problem = injectionProblem(judged.verdict.revision, istioInjectorsFor(webhookConfigurations, namespace, judged.verdict.labels), name);
        if (problem) problems.set(problem.text, (problems.get(problem.text) ?? 0) + 1);
      }
      const conflicts: string[] = [];
      if (!enabled && name !== "kube-system" && istioInjectsEveryPod(webhookConfigurations, namespace)) {
        conflicts.push(
          `Istio injects every pod here${istioLabels.length ? ` (${istioLabels.join(", ")})` : ""} but mesh-tailor does not tailor it: enable it, or remove the label`,
        );
      }
      for (const [text, count] of problems) conflicts.push(`${count} pod(s) the policy cannot take effect on: ${text}`);
      return { namespace: name, enabled, istioLabels, defaultSidecar, pods: pods.length, selected, withProxy, stale, conflicts };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace));
}
