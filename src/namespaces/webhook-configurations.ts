import * as istio from "../keys/istio.js";
import * as k8s from "../keys/kubernetes.js";
import type { KubeObject } from "../kube/object.js";
import { selectorMatches, type LabelSelector } from "../kube/label-selector.js";

/** mesh-tailor's MutatingWebhookConfiguration, as manifests/ and the chart name it. */
export const MESH_TAILOR_WEBHOOK_CONFIGURATION = "00-mesh-tailor";
/** Where mesh-tailor is installed when its configuration does not say (it calls a URL, or is absent). */
export const DEFAULT_INSTALL_NAMESPACE = "mesh-tailor";

export interface MutatingWebhook {
  name: string;
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  reinvocationPolicy?: string;
  clientConfig?: { caBundle?: string; url?: string; service?: { name?: string; namespace?: string } };
}
export type MutatingWebhookConfiguration = KubeObject & { webhooks?: MutatingWebhook[] };

// Istio names every injection webhook *.sidecar-injector.istio.io, in istio-sidecar-injector* and
// in the configurations of revision tags (istio-revision-tag-*).
export const isIstioInjector = (name: string): boolean => name.endsWith("sidecar-injector.istio.io");

/** The namespace mesh-tailor's webhook Service is in, read from its configuration. */
export function installNamespaceOf(configuration: MutatingWebhookConfiguration | undefined): string {
  return configuration?.webhooks?.[0]?.clientConfig?.service?.namespace ?? DEFAULT_INSTALL_NAMESPACE;
}

/** A namespace's labels as a namespaceSelector sees them (kube-apiserver adds the name label). */
export function selectorLabelsOf(namespace: KubeObject): Record<string, string> {
  return { [k8s.NAMESPACE_NAME]: namespace.metadata.name, ...namespace.metadata.labels };
}

/**
 * True when one of the cluster's Istio injection webhooks injects a pod that carries no label of
 * its own in NAMESPACE: namespace-wide injection (istio-injection=enabled, istio.io/rev=REV or a
 * revision tag), judged by the webhooks' real selectors rather than by label names.
 */
export function istioInjectsEveryPod(configurations: readonly MutatingWebhookConfiguration[], namespace: KubeObject): boolean {
  const labels = selectorLabelsOf(namespace);
  return configurations.some((c) =>
    (c.webhooks ?? []).some((w) => isIstioInjector(w.name) && selectorMatches(w.namespaceSelector, labels) && selectorMatches(w.objectSelector, {})),
  );
}

/** One of Istio's injection webhooks: the revision it injects, and the tag it answers for, if it is a tag's. */
export interface IstioInjector {
  readonly configuration: string;
  readonly webhook: string;
  /** The istiod revision whose proxy it injects (istio.io/rev on its configuration). */
  readonly revision: string;
  /** A revision tag's webhook (istio-revision-tag-TAG, labelled istio.io/tag): the tag. */
  readonly tag: string | undefined;
}

/**
 * The Istio injection webhooks that inject a pod carrying PODLABELS in NAMESPACE, judged by their
 * real selectors, as kube-apiserver will. Revision and tag come from each configuration's labels
 * (istioctl tag writes istio.io/tag and istio.io/rev on istio-revision-tag-TAG; istio/istio
 * pkg/revisions/tag_watcher.go reads them the same way).
 */
export function istioInjectorsFor(
  configurations: readonly MutatingWebhookConfiguration[],
  namespace: KubeObject,
  podLabels: Record<string, string>,
): IstioInjector[] {
  const namespaceLabels = selectorLabelsOf(namespace);
  return configurations.flatMap((c) =>
    (c.webhooks ?? [])
      .filter((w) => isIstioInjector(w.name) && selectorMatches(w.namespaceSelector, namespaceLabels) && selectorMatches(w.objectSelector, podLabels))
      .map((w) => ({
        configuration: c.metadata.name,
        webhook: w.name,
        revision: c.metadata.labels?.[istio.REVISION] ?? "default",
        tag: c.metadata.labels?.[istio.REVISION_TAG],
      })),
  );
}

/** Every revision and tag that has an injection webhook, to the revision it injects. */
export function injectableRevisions(configurations: readonly MutatingWebhookConfiguration[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const c of configurations) {
    if (!(c.webhooks ?? []).some((w) => isIstioInjector(w.name))) continue;
    const revision = c.metadata.labels?.[istio.REVISION] ?? "default";
    const tag = c.metadata.labels?.[istio.REVISION_TAG];
    if (tag) names.set(tag, revision);
    else names.set(revision, revision);
  }
  return names;
}

/**
 * Every revision with an injection webhook of its own (tags point to one of them), to the
 * namespace of its istiod, where its injector ConfigMap is: the namespace of the Service its
 * webhooks call, istio-system when they call a URL.
 */
export function revisionHomes(configurations: readonly MutatingWebhookConfiguration[]): Map<string, string> {
  const homes = new Map<string, string>();
  for (const c of configurations) {
    const injector = (c.webhooks ?? []).find((w) => isIstioInjector(w.name));
    if (!injector) continue;
    const revision = c.metadata.labels?.[istio.REVISION] ?? "default";
    const home = injector.clientConfig?.service?.namespace ?? istio.ISTIO_SYSTEM;
    // A revision's own configuration says best where it lives; a tag's only when it is all there is.
    if (!c.metadata.labels?.[istio.REVISION_TAG] || !homes.has(revision)) homes.set(revision, home);
  }
  return homes;
}
