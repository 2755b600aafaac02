import * as istio from "../keys/istio.js";
import * as meshTailor from "../keys/mesh-tailor.js";
import { annotationOf, labelOf } from "../pod/edit.js";
import { isSkipLabelled } from "../pod/skip-label.js";
import type { Pod } from "../pod/types.js";
import type { Workload } from "../pod/workload.js";
import type { CompiledPolicy } from "../policy/load.js";
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
  const userValue = userInjectValue(pod);
  const who = serviceName ? `service "${serviceName}"` : "this pod";
  const warnings: string[] = [];
  let selected: boolean;
  let reason: string;

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
  } else if (pod.spec.hostNetwork === true) {
    // Istio never injects hostNetwork pods: the proxy's iptables rules would capture the node's traffic.
    selected = false;
    reason = "it uses hostNetwork, which Istio never injects";
    if (policyWants || userValue === "true") warnings.push(`mesh-tailor: ${who} uses hostNetwork, which Istio does not inject; it stays out of the mesh`);
  } else if (userValue === "true" || userValue === "false") {
    selected = userValue === "true";
    reason = `it sets ${istio.SIDECAR_INJECT}="${userValue}", which wins over the policy`;
    if (selected !== policyWants) {
      warnings.push(`mesh-tailor: ${who} sets ${istio.SIDECAR_INJECT}="${userValue}", which wins over the policy's inject: ${policyWants}`);
    }
  } else {
    selected = policyWants;
    reason = entry
      ? `a services entry matches ${matchedBy} (inject: ${entry.inject})`
      : `no services entry matches it (defaults.inject: ${policy.defaults.inject})`;
  }
  return { selected, injectLabel: selected ? "true" : "false", entry, matchedBy, reason, warnings };
}
