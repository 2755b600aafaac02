import * as istio from "../keys/istio.js";
import type { KubeObject } from "../kube/object.js";
import { injectedRevision } from "../namespaces/injection.js";
import { injectedAsSidecar, nativeSidecarOf, proxyImageOf, sameProxyBuild, type RevisionInjection } from "../namespaces/revision-injection.js";
import { istioInjectorsFor, type MutatingWebhookConfiguration } from "../namespaces/webhook-configurations.js";
import type { ProxyPlacement } from "../pod/istio-proxy.js";
import type { StaleKind } from "./stale-reasons.js";

/** What the cluster says of Istio's injection, as far as the caller could read it. */
export interface IstioInjectors {
  /** Every revision and tag with an injection webhook, to the revision it injects. */
  readonly revisions: ReadonlyMap<string, string>;
  /** Istio's injection webhooks, to find the revision a pod whose service names none goes to. */
  readonly configurations?: readonly MutatingWebhookConfiguration[];
  readonly namespaces?: ReadonlyMap<string, KubeObject>;
  /** What each revision injects now, for those whose injector ConfigMap could be read. */
  readonly injections?: ReadonlyMap<string, RevisionInjection>;
  /** Every node's kubelet version, when read (istiod's "auto" native sidecars go by them). */
  readonly kubelets?: readonly string[] | undefined;
}

/** What a pod made from the template now asks of Istio. */
export interface ProxyWish {
  /** The istio.io/rev the policy writes, if any. */
  readonly revision: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface ProxyStaleness {
  readonly kind: Extract<StaleKind, "proxy-version" | "sidecar-mode">;
  readonly text: string;
}

/**
 * The revision a pod made from WISH in NAMESPACE is injected by now: the one the policy names (a
 * tag stands for the revision it points to), else the one whose webhooks select it (the
 * namespace's istio.io/rev, a tag, or the default revision); undefined when none or several do.
 */
export function wantedRevision(wish: ProxyWish, namespace: string, injectors: IstioInjectors): { name: string; revision: string } | undefined {
  if (wish.revision) return { name: wish.revision, revision: injectors.revisions.get(wish.revision) ?? wish.revision };
  // A workload's pods share their template's wish: its webhooks are matched once.
  const known = wantedByWish.get(wish);
  if (known && known.namespace === namespace && known.injectors === injectors) return known.wanted;
  const wanted = selectedRevision(wish, namespace, injectors);
  wantedByWish.set(wish, { namespace, injectors, wanted });
  return wanted;
}

const wantedByWish = new WeakMap<ProxyWish, { namespace: string; injectors: IstioInjectors; wanted: { name: string; revision: string } | undefined }>();

function selectedRevision(wish: ProxyWish, namespace: string, injectors: IstioInjectors): { name: string; revision: string } | undefined {
  const namespaceObject = injectors.namespaces?.get(namespace);
  if (!namespaceObject || !injectors.configurations) return undefined;
  const selecting = istioInjectorsFor(injectors.configurations, namespaceObject, { ...wish.labels });
  const revisions = new Set(selecting.map((i) => i.revision));
  if (revisions.size !== 1) return undefined;
  const [first] = selecting;
  return { name: first!.tag ?? first!.revision, revision: first!.revision };
}

/**
 * Whether a running proxy is the one Istio would inject now: from the revision its service maps
 * to now (`proxy-version`: another revision injected it, or that revision now injects another
 * image), placed as that revision places it now (`sidecar-mode`: classic where it would be
 * native, or the reverse). What could not be read is not judged.
 */
export function proxyStaleness(pod: KubeObject, proxy: ProxyPlacement, wish: ProxyWish, injectors: IstioInjectors): ProxyStaleness[] {
  const wanted = wantedRevision(wish, pod.metadata.namespace ?? "", injectors);
  if (!wanted) return [];
  const found: ProxyStaleness[] = [];
  const named = `${wanted.name}${wanted.revision !== wanted.name ? ` (revision ${wanted.revision})` : ""}`;
  const injected = injectedRevision(pod.metadata.annotations?.[istio.SIDECAR_STATUS]);
  const injection = injectors.injections?.get(wanted.revision);
  if (injected && injected !== wanted.revision) {
    const text = wish.revision ? `injected by revision ${injected}; the policy asks for ${named}` : `injected by revision ${injected}; it goes to ${named} now`;
    found.push({ kind: "proxy-version", text });
  } else if (injection) {
    const expected = proxyImageOf(injection, wish.annotations);
    const running = proxy.container.image;
    if (expected && running && !sameProxyBuild(running, expected)) {
      found.push({ kind: "proxy-version", text: `runs proxy ${running}; revision ${wanted.revision} injects ${expected} now` });
    }
  }
  const native = injectedAsSidecar(wish.annotations) ? nativeSidecarOf(injection, wish.annotations, injectors.kubelets) : undefined;
  if (native !== undefined && native !== (proxy.mode === "native")) {
    found.push({
      kind: "sidecar-mode",
      text: native
        ? `a classic sidecar; revision ${wanted.revision} injects a native one now`
        : `a native sidecar; revision ${wanted.revision} injects a classic one now`,
    });
  }
  return found;
}
