import type { IstioInjector } from "./webhook-configurations.js";

/** What keeps a pod the policy selects from the injection it asks for; undefined when nothing does. */
export interface InjectionProblem {
  /** no-injector: no Istio webhook injects it at all; overridden: another revision injects it. */
  readonly kind: "no-injector" | "overridden";
  readonly text: string;
}

/**
 * Whether a pod template the policy selects, with REVISION (or none: whatever injects it), gets
 * that injection, given INJECTORS, the Istio webhooks whose real selectors match it after
 * mesh-tailor's labels. A revision that no webhook serves, or a namespace label that sends the
 * pod to another revision, cannot be fixed by restarting the pod: both are for the operator.
 */
export function injectionProblem(revision: string | undefined, injectors: readonly IstioInjector[], namespace: string): InjectionProblem | undefined {
  if (injectors.length === 0) {
    return {
      kind: "no-injector",
      text: revision
        ? `no Istio injection webhook injects it: revision "${revision}" has none (install it, or tag a revision "${revision}": istioctl tag set ${revision} --revision REV)`
        : "no Istio injection webhook injects it: is Istio installed?",
    };
  }
  if (revision && !injectors.some((i) => i.revision === revision || i.tag === revision)) {
    const by = [...new Set(injectors.map((i) => (i.tag ? `tag ${i.tag} (revision ${i.revision})` : `revision ${i.revision}`)))].join(", ");
    return {
      kind: "overridden",
      text: `injected by ${by}, not revision "${revision}": namespace ${namespace}'s Istio label overrides the revision (remove it to let each service choose)`,
    };
  }
  return undefined;
}

/** The revision whose istiod injected a pod, from Istio's sidecar.istio.io/status record (inject.go SidecarInjectionStatus). */
export function injectedRevision(status: string | undefined): string | undefined {
  if (!status) return undefined;
  try {
    const parsed = JSON.parse(status) as { revision?: unknown };
    return typeof parsed.revision === "string" && parsed.revision !== "" ? parsed.revision : undefined;
  } catch {
    return undefined;
  }
}
