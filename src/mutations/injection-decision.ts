import * as istio from "../keys/istio.js";
import * as meshTailor from "../keys/mesh-tailor.js";
import { annotationOf, labelOf } from "../pod/edit.js";
import { isSkipLabelled } from "../pod/skip-label.js";
import type { Pod } from "../pod/types.js";
import type { Workload } from "../pod/workload.js";
import { dataplaneOf } from "../policy/dataplane.js";
import type { CompiledPolicy } from "../policy/load.js";
import type { Dataplane, ServiceEntry } from "../policy/schema.js";
import type { InjectionDecision } from "./types.js";

/** The service a pod belongs to: the first configured label present, else its workload's name. */
export function serviceNameOf(pod: Pod, labelKeys: readonly string[], workload: Workload | undefined): string | undefined {
  for (const key of labelKeys) {
    const value = labelOf(pod, key);
    if (value) return value;
  }
  return workload?.name;
}

const userInjectValue = (pod: Pod): string | undefined => labelOf(pod, istio.SIDECAR_INJECT) ?? annotationOf(pod, istio.SIDECAR_INJECT);

/**
 * The services entry for a pod: the first that matches its service name, else the first that
 * matches its workload's name (a Helm release named "reviews" whose pods carry the chart's name
 * in app.kubernetes.io/name is still service "reviews" to an entry that names it).
 */
function entryFor(compiled: CompiledPolicy, namespace: string, serviceName: string | undefined, workload: Workload | undefined) {
  const byService = serviceName === undefined ? undefined : compiled.services.lookup(namespace, serviceName);
  if (byService) return { entry: byService, matchedBy: `its service name "${serviceName}"` };
  const byWorkload = workload && workload.name !== serviceName ? compiled.services.lookup(namespace, workload.name) : undefined;
  if (byWorkload) return { entry: byWorkload, matchedBy: `its ${workload!.kind}'s name "${workload!.name}"` };
  return { entry: undefined, matchedBy: undefined };
}

interface EnabledDecision {
  readonly selected: boolean;
  readonly dataplane: Dataplane;
  readonly reason: string;
  readonly warnings: readonly string[];
}

/** What the policy and the pod's own labels decide while the mesh is enabled. */
function decideEnabled(pod: Pod, entry: ServiceEntry | undefined, matchedBy: string | undefined, compiled: CompiledPolicy, who: string): EnabledDecision {
  const { policy } = compiled;
  const policyWants = entry?.inject ?? policy.defaults.inject;
  const policyDataplane = dataplaneOf(entry, policy);
  const policyAmbient = policyWants && policyDataplane === "ambient";
  const userValue = userInjectValue(pod);
  const userMode = labelOf(pod, istio.DATAPLANE_MODE);
  if (pod.spec.hostNetwork === true) {
    // Istio never injects hostNetwork pods (the proxy's iptables rules would capture the node's
    // traffic), and its CNI never enrols them in ambient.
    const warnings = policyWants || userValue === "true" ? [`mesh-tailor: ${who} uses hostNetwork, which Istio does not inject; it stays out of the mesh`] : [];
    return { selected: false, dataplane: policyDataplane, reason: "it uses hostNetwork, which Istio never injects", warnings };
  }
  if (userValue === "true") {
    // Asking for the injector is asking for a sidecar.
    const warnings: string[] = [];
    if (!policyWants) warnings.push(`mesh-tailor: ${who} sets ${istio.SIDECAR_INJECT}="true", which wins over the policy's inject: false`);
    else if (policyDataplane === "ambient")
      warnings.push(`mesh-tailor: ${who} sets ${istio.SIDECAR_INJECT}="true", which wins over the policy: it gets a sidecar, not the ambient dataplane`);
    if (userMode === istio.DATAPLANE_AMBIENT)
      warnings.push(
        `mesh-tailor: ${who} sets both ${istio.SIDECAR_INJECT}="true" and ${istio.DATAPLANE_MODE}="ambient": Istio leaves a pod with a sidecar out of ambient`,
      );
    return { selected: true, dataplane: "sidecar", reason: `it sets ${istio.SIDECAR_INJECT}="true", which wins over the policy`, warnings };
  }
  if (userMode === istio.DATAPLANE_AMBIENT) {
    // Istio's own switch for ambient on the pod wins as the inject label does (an ambient pod
    // carries "false" for the injector beside it, as mesh-tailor writes it).
    const warnings = policyAmbient
      ? []
      : [
          `mesh-tailor: ${who} sets ${istio.DATAPLANE_MODE}="ambient", which wins over the policy (${policyWants ? `dataplane: ${policyDataplane}` : "inject: false"})`,
        ];
    return { selected: true, dataplane: "ambient", reason: `it sets ${istio.DATAPLANE_MODE}="ambient", which wins over the policy`, warnings };
  }
  if (userMode !== undefined && policyAmbient) {
    // Any other value ("none", or one Istio does not know) keeps a pod out of ambient; it says
    // nothing of a sidecar, so it matters only where the policy puts the service in ambient.
    return {
      selected: false,
      dataplane: "ambient",
      reason: `it sets ${istio.DATAPLANE_MODE}="${userMode}", which keeps it out of ambient`,
      warnings: [
        `mesh-tailor: ${who} sets ${istio.DATAPLANE_MODE}="${userMode}", which keeps it out of the ambient dataplane the policy gives it; it stays out of the mesh`,
      ],
    };
  }
  if (userValue === "false") {
    const warnings = policyWants ? [`mesh-tailor: ${who} sets ${istio.SIDECAR_INJECT}="false", which wins over the policy's inject: true`] : [];
    return { selected: false, dataplane: policyDataplane, reason: `it sets ${istio.SIDECAR_INJECT}="false", which wins over the policy`, warnings };
  }
  const ambient = policyAmbient ? ", dataplane: ambient" : "";
  const reason = entry
    ? `a services entry matches ${matchedBy} (inject: ${entry.inject}${ambient})`
    : `no services entry matches it (defaults.inject: ${policy.defaults.inject}${ambient})`;
  return { selected: policyWants, dataplane: policyDataplane, reason, warnings: [] };
}

export function decideInjection(
  pod: Pod,
  namespace: string,
  serviceName: string | undefined,
  compiled: CompiledPolicy,
  workload?: Workload,
): InjectionDecision {
  const { policy } = compiled;
  const { entry, matchedBy } = entryFor(compiled, namespace, serviceName, workload);
  const who = serviceName ? `service "${serviceName}"` : "this pod";
  if (policy.mesh.enabled) {
    const decided = decideEnabled(pod, entry, matchedBy, compiled, who);
    const dataplane = decided.selected ? decided.dataplane : undefined;
    return {
      selected: decided.selected,
      dataplane,
      injectLabel: dataplane === "sidecar" ? "true" : "false",
      leaveAmbient: false,
      entry,
      matchedBy,
      reason: decided.reason,
      warnings: decided.warnings,
    };
  }
  const userValue = userInjectValue(pod);
  const userMode = labelOf(pod, istio.DATAPLANE_MODE);
  const warnings: string[] = [];
  const skip = isSkipLabelled(pod);
  const unhonoured = `${meshTailor.SKIP}="true" is not honoured while the rollback is on`;
  if (userValue === "true")
    warnings.push(
      `mesh-tailor: mesh-wide rollback is on (mesh.enabled: false): ${istio.SIDECAR_INJECT}="true" on ${who} overridden to "false"${skip ? `; ${unhonoured}` : ""}`,
    );
  else if (skip) warnings.push(`mesh-tailor: mesh-wide rollback is on (mesh.enabled: false): ${unhonoured}; ${who} gets ${istio.SIDECAR_INJECT}="false"`);
  // Out of the mesh means out of ambient too: every pod that would be in the mesh were it enabled
  // (in ambient, or with a sidecar it now loses, which a namespace labelled for ambient would
  // otherwise enrol), and one that asks for ambient itself. Those that would be in the mesh are
  // stale under the rollback anyway, and restarted by it. A skip-labelled pod, which mesh-tailor
  // never tailors while the mesh is enabled, gets no more than the decision it asks for itself.
  const wouldBeIn = !skip && userMode !== istio.DATAPLANE_NONE && decideEnabled(pod, entry, matchedBy, compiled, who).selected;
  const leaveAmbient = userMode === istio.DATAPLANE_AMBIENT || wouldBeIn;
  if (userMode === istio.DATAPLANE_AMBIENT)
    warnings.push(`mesh-tailor: mesh-wide rollback is on (mesh.enabled: false): ${istio.DATAPLANE_MODE}="ambient" on ${who} overridden to "none"`);
  return {
    selected: false,
    dataplane: undefined,
    injectLabel: "false",
    leaveAmbient,
    entry,
    matchedBy,
    reason: `mesh-wide rollback is on (mesh.enabled: false)${skip ? `; ${unhonoured}` : ""}`,
    warnings,
  };
}
