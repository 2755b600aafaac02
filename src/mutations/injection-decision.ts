import * as istio from "../keys/istio.js";
import * as meshTailor from "../keys/mesh-tailor.js";
import { annotationOf, labelOf } from "../pod/edit.js";
import { isSkipLabelled } from "../pod/skip-label.js";
import type { Pod } from "../pod/types.js";
import type { Workload } from "../pod/workload.js";
import type { CompiledPolicy } from "../policy/load.js";
import type { Dataplane } from "../policy/schema.js";
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

export function decideInjection(
  pod: Pod,
  namespace: string,
  serviceName: string | undefined,
  compiled: CompiledPolicy,
  workload?: Workload,
): InjectionDecision {
  const { policy } = compiled;
  const { entry, matchedBy } = entryFor(compiled, namespace, serviceName, workload);
  const policyWants = entry?.inject ?? policy.defaults.inject;
  const policyDataplane = entry?.dataplane ?? policy.defaults.dataplane;
  const userValue = userInjectValue(pod);
  const userMode = labelOf(pod, istio.DATAPLANE_MODE);
  const who = serviceName ? `service "${serviceName}"` : "this pod";
  const warnings: string[] = [];
  let selected: boolean;
  let dataplane: Dataplane = policyDataplane;
  let reason: string;
  let leaveAmbient = false;

  if (!policy.mesh.enabled) {
    selected = false;
    const skip = isSkipLabelled(pod);
    const unhonoured = `${meshTailor.SKIP}="true" is not honoured while the rollback is on`;
    reason = `mesh-wide rollback is on (mesh.enabled: false)${skip ? `; ${unhonoured}` : ""}`;
    if (userValue === "true")
      warnings.push(
        `mesh-tailor: mesh-wide rollback is on (mesh.enabled: false): ${istio.SIDECAR_INJECT}="true" on ${who} overridden to "false"${skip ? `; ${unhonoured}` : ""}`,
      );
    else if (skip) warnings.push(`mesh-tailor: mesh-wide rollback is on (mesh.enabled: false): ${unhonoured}; ${who} gets ${istio.SIDECAR_INJECT}="false"`);
    // The rollback takes out of ambient what the policy put there, and a pod that asks for it itself.
    leaveAmbient = userMode === istio.DATAPLANE_AMBIENT || (userMode === undefined && policyWants && policyDataplane === "ambient");
    if (userMode === istio.DATAPLANE_AMBIENT)
      warnings.push(`mesh-tailor: mesh-wide rollback is on (mesh.enabled: false): ${istio.DATAPLANE_MODE}="ambient" on ${who} overridden to "none"`);
  } else if (pod.spec.hostNetwork === true) {
    // Istio never injects hostNetwork pods: the proxy's iptables rules would capture the node's traffic.
    selected = false;
    reason = "it uses hostNetwork, which Istio never injects";
    if (policyWants || userValue === "true") warnings.push(`mesh-tailor: ${who} uses hostNetwork, which Istio does not inject; it stays out of the mesh`);
  } else if (userValue === "true") {
    // Asking for the injector is asking for a sidecar.
    selected = true;
    dataplane = "sidecar";
    reason = `it sets ${istio.SIDECAR_INJECT}="true", which wins over the policy`;
    if (!policyWants) warnings.push(`mesh-tailor: ${who} sets ${istio.SIDECAR_INJECT}="true", which wins over the policy's inject: false`);
    else if (policyDataplane === "ambient")
      warnings.push(`mesh-tailor: ${who} sets ${istio.SIDECAR_INJECT}="true", which wins over the policy: it gets a sidecar, not the ambient dataplane`);
    if (userMode === istio.DATAPLANE_AMBIENT)
      warnings.push(
        `mesh-tailor: ${who} sets both ${istio.SIDECAR_INJECT}="true" and ${istio.DATAPLANE_MODE}="ambient": Istio leaves a pod with a sidecar out of ambient`,
      );
  } else if (userMode === istio.DATAPLANE_AMBIENT || userMode === istio.DATAPLANE_NONE) {
    // Istio's own switch for ambient on the pod wins as the inject label does (an ambient pod
    // carries "false" for the injector beside it, as mesh-tailor writes it).
    selected = userMode === istio.DATAPLANE_AMBIENT;
    dataplane = "ambient";
    reason = `it sets ${istio.DATAPLANE_MODE}="${userMode}", which wins over the policy`;
    const policyAmbient = policyWants && policyDataplane === "ambient";
    if (selected !== policyAmbient)
      warnings.push(
        `mesh-tailor: ${who} sets ${istio.DATAPLANE_MODE}="${userMode}", which wins over the policy (${policyWants ? `dataplane: ${policyDataplane}` : "inject: false"})`,
      );
  } else if (userValue === "false") {
    selected = false;
    reason = `it sets ${istio.SIDECAR_INJECT}="false", which wins over the policy`;
    if (policyWants) warnings.push(`mesh-tailor: ${who} sets ${istio.SIDECAR_INJECT}="false", which wins over the policy's inject: true`);
  } else {
    selected = policyWants;
    const ambient = selected && policyDataplane === "ambient" ? ", dataplane: ambient" : "";
    reason = entry
      ? `a services entry matches ${matchedBy} (inject: ${entry.inject}${ambient})`
      : `no services entry matches it (defaults.inject: ${policy.defaults.inject}${ambient})`;
  }
  return {
    selected,
    dataplane: selected ? dataplane : undefined,
    injectLabel: selected && dataplane === "sidecar" ? "true" : "false",
    leaveAmbient,
    entry,
    matchedBy,
    reason,
    warnings,
  };
}
