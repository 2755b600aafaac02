import * as istio from "../keys/istio.js";

// What one Istio revision injects now, read from its injector ConfigMap: the proxy's image and
// whether the proxy goes in as a native sidecar. Checked against Istio's code at the e2e's pin
// (istio/istio, 1.31): the ConfigMap istio-sidecar-injector[-REV] and its `values` key
// (manifests/charts/istio-control/istio-discovery/templates/istiod-injector-configmap.yaml,
// JSON of `global`, `sidecarInjectorWebhook`, `revision` and `pilot.env`), the image
// (pkg/kube/inject/inject.go ProxyImage, proxyImageURL, imageURL, updateImageTypeIfPresent),
// the template's override (files/injection-template.yaml, sidecar.istio.io/proxyImage), and
// native sidecars (pilot/pkg/features/pilot.go ENABLE_NATIVE_SIDECARS; pkg/kube/inject/webhook.go
// DetectNativeSidecar; the template's sidecar.istio.io/nativeSidecar).

/** ENABLE_NATIVE_SIDECARS as istiod reads it: "true", "false", else "auto" (its default); any other value is "false". */
export type NativeSidecarMode = "enabled" | "disabled" | "auto";

export interface RevisionInjection {
  readonly revision: string;
  readonly hub: string | undefined;
  /** global.proxy.image: "proxyv2" unless set; a full image when it holds a "/". */
  readonly imageName: string;
  readonly tag: string | undefined;
  /** global.variant ("distroless", "debug"): the image type appended to the tag. */
  readonly variant: string | undefined;
  readonly nativeSidecars: NativeSidecarMode;
  /**
   * Whether the proxy gets a startup probe (global.proxy.startupProbe.enabled, true unless set
   * false, and a status port other than 0): what holds a native sidecar's app until the proxy is
   * ready (the injection template's startupProbe; the kubelet starts the next container once it passes).
   */
  readonly startupProbe: boolean;
}

/** The injector ConfigMap of REVISION: "default" (or none) has the bare name. */
export const injectorConfigMapName = (revision: string): string =>
  revision === "" || revision === "default" ? "istio-sidecar-injector" : `istio-sidecar-injector-${revision}`;

const object = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
// Helm may render a tag or an env value as a number or a boolean.
const text = (value: unknown): string | undefined =>
  typeof value === "string" ? value : typeof value === "number" || typeof value === "boolean" ? String(value) : undefined;

/** REVISION's injection from its ConfigMap's `values` (JSON); undefined when it cannot be read. */
export function parseInjectorValues(revision: string, values: string | undefined): RevisionInjection | undefined {
  if (values === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(values);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const global = object(object(parsed)["global"]);
  const env = object(object(object(parsed)["pilot"])["env"]);
  return {
    revision,
    hub: text(global["hub"]),
    imageName: text(object(global["proxy"])["image"]) || "proxyv2",
    tag: text(global["tag"]),
    variant: text(global["variant"]) || undefined,
    nativeSidecars: nativeSidecarMode(text(env["ENABLE_NATIVE_SIDECARS"]), text(global["tag"])),
    startupProbe: object(object(global["proxy"])["startupProbe"])["enabled"] !== false && text(object(global["proxy"])["statusPort"]) !== "0",
  };
}

/**
 * ENABLE_NATIVE_SIDECARS as istiod reads it. Unset, it is "auto" from Istio 1.27 (istio/istio
 * PR #56428) and false before: VERSION (an image tag such as "1.26.3") tells them apart, and one
 * that reads as no version is taken as current.
 */
function nativeSidecarMode(value: string | undefined, version: string | undefined): NativeSidecarMode {
  if (value === undefined) return (istioMinor(version) ?? NATIVE_BY_DEFAULT_SINCE) < NATIVE_BY_DEFAULT_SINCE ? "disabled" : "auto";
  return value === "auto" ? "auto" : value === "true" ? "enabled" : "disabled";
}

/** The first Istio minor whose istiod decides native sidecars by the nodes when nothing says otherwise. */
const NATIVE_BY_DEFAULT_SINCE = 27;

/** An Istio 1.x image tag's minor ("1.26.3-distroless" → 26); undefined for "latest" and other names. */
export function istioMinor(tag: string | undefined): number | undefined {
  const match = /^v?1\.(\d+)(?:[.-]|$)/.exec(tag ?? "");
  return match ? Number(match[1]) : undefined;
}

// The image types Istio publishes; a tag that ends in one has it replaced, not doubled.
const IMAGE_TYPES = ["distroless", "debug"];

function withImageType(tag: string, type: string | undefined): string {
  if (!type) return tag;
  const bare = withoutImageType(tag);
  return type === "default" ? bare : `${bare}-${type}`;
}

const withoutImageType = (tag: string): string => {
  const type = IMAGE_TYPES.find((t) => tag.endsWith(`-${t}`));
  return type ? tag.slice(0, -(type.length + 1)) : tag;
};

/**
 * The istio-proxy image REVISION's injector gives a pod with ANNOTATIONS now; undefined when its
 * values do not say (no hub or tag). The image type a mesh-wide ProxyConfig may set is not
 * read: sameProxyBuild compares images with the type left out.
 */
export function proxyImageOf(injection: RevisionInjection, annotations: Readonly<Record<string, string>>): string | undefined {
  const override = annotations[istio.PROXY_IMAGE];
  if (override?.includes("/")) return override;
  if (injection.imageName.includes("/")) return injection.imageName;
  if (injection.hub === undefined || injection.tag === undefined) return undefined;
  const type = annotations[istio.PROXY_IMAGE_TYPE] ?? injection.variant;
  return `${injection.hub}/${injection.imageName}:${withImageType(injection.tag, type)}`;
}

/** An image's tag ("reg:5000/istio/proxyv2:1.31.0@sha256:..." → "1.31.0"); undefined when it has none. */
export function imageTag(image: string): string | undefined {
  const named = image.split("@")[0]!;
  const colon = named.lastIndexOf(":");
  return colon > named.lastIndexOf("/") ? named.slice(colon + 1) : undefined;
}

/**
 * Whether a running proxy's image is the build EXPECTED names: the same image name and version,
 * whatever its type (distroless, debug), its digest, or the registry it came from (a policy
 * engine may pin the digest, a registry mirror may rewrite the hub; an upgrade changes the tag).
 */
export function sameProxyBuild(running: string, expected: string): boolean {
  const build = (image: string) => {
    const named = image.split("@")[0]!;
    const tag = imageTag(named);
    const name = (tag === undefined ? named : named.slice(0, -(tag.length + 1))).split("/").pop();
    return `${name}:${withoutImageType(tag ?? "")}`;
  };
  return build(running) === build(expected);
}

/** Native sidecars graduated in Kubernetes 1.33: istiod's "auto" wants every node's kubelet at it or above. */
const NATIVE_SIDECAR_MINOR = 33;

/** A kubelet version's minor number ("v1.33.2" → 33); undefined when it is not a version, which "auto" counts against native sidecars. */
export function kubeletMinor(version: string): number | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(version.trim());
  return match ? Number(match[2]) : undefined;
}

/**
 * Whether INJECTION would put the proxy of a pod with ANNOTATIONS in as a native sidecar now.
 * The pod's own annotation decides first ("false" classic, any other non-empty value native); then the
 * revision's ENABLE_NATIVE_SIDECARS; under "auto", an unscheduled pod (as at admission) gets one
 * only when every node's kubelet is 1.33 or newer (KUBELETS, undefined when unread: then it
 * cannot be told).
 */
export function nativeSidecarOf(
  injection: RevisionInjection | undefined,
  annotations: Readonly<Record<string, string>>,
  kubelets: readonly string[] | undefined,
): boolean | undefined {
  // The template reads it through `default`: an empty value falls back to the revision's setting.
  const own = annotations[istio.NATIVE_SIDECAR];
  if (own) return own !== "false";
  if (!injection) return undefined;
  if (injection.nativeSidecars !== "auto") return injection.nativeSidecars === "enabled";
  if (!kubelets) return undefined;
  return kubelets.every((version) => (kubeletMinor(version) ?? -1) >= NATIVE_SIDECAR_MINOR);
}

interface IstiodDeployment {
  readonly metadata: { readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: {
    readonly template?: {
      readonly spec?: { readonly containers?: readonly { name?: string; image?: string; env?: readonly { name: string; value?: string }[] }[] };
    };
  };
}

/**
 * INJECTION with what its istiod runs with, where DEPLOYMENTS hold it: ENABLE_NATIVE_SIDECARS is
 * read from istiod's own environment (the chart's deployment.yaml writes `pilot.env` there, and
 * an install may set it there alone); the ConfigMap's copy is the fallback. istiod is the
 * Deployment labelled app=istiod and istio.io/rev=REVISION, its container `discovery`.
 */
export function withIstiodEnv(injection: RevisionInjection, deployments: readonly IstiodDeployment[]): RevisionInjection {
  const istiod = deployments.find((d) => d.metadata.labels?.["app"] === "istiod" && (d.metadata.labels[istio.REVISION] ?? "default") === injection.revision);
  const discovery = istiod?.spec?.template?.spec?.containers?.find((c) => c.name === "discovery");
  const variable = discovery?.env?.find((e) => e.name === "ENABLE_NATIVE_SIDECARS");
  if (!discovery) return injection;
  // Set without a value (valueFrom): not knowable here; unset: istiod's default, by its version.
  if (variable && variable.value === undefined) return injection;
  const version = imageTag(discovery.image ?? "") ?? injection.tag;
  return { ...injection, nativeSidecars: nativeSidecarMode(variable?.value, version) };
}

/**
 * Whether the pod is injected with Istio's `sidecar` template, the one that reads native
 * sidecars: a pod that names others (`inject.istio.io/templates: gateway`) without it gets the
 * proxy as a regular container whatever the revision's setting (gateway-injection-template.yaml).
 */
export function injectedAsSidecar(annotations: Readonly<Record<string, string>>): boolean {
  const templates = annotations[istio.INJECT_TEMPLATES];
  return !templates || templates.split(",").some((t) => t.trim() === "sidecar");
}
