// Every Istio label and annotation mesh-tailor reads or writes, and nowhere else. Istio defines
// them in istio/api: label/labels.gen.go and annotation/annotations.gen.go (generated from
// label/labels.yaml and annotation/annotations.yaml); the Go name is given with each.

/** Whether to inject a pod: Istio reads the label, and the older annotation when no label is set (label.SidecarInject; annotation.SidecarInject). */
export const SIDECAR_INJECT = "sidecar.istio.io/inject";
/** The control-plane revision whose injector handles the pod (label.IoIstioRev). */
export const REVISION = "istio.io/rev";
/** Per-pod ProxyConfig overrides, YAML or JSON (annotation.ProxyConfig). */
export const PROXY_CONFIG = "proxy.istio.io/config";
/** Run the proxy as a native sidecar, Istio >= 1.19: read by Istio's injector (pkg/kube/inject); the end-to-end suite proves it. */
export const NATIVE_SIDECAR = "sidecar.istio.io/nativeSidecar";
/** The proxy's image, used as it is when it holds a "/" (annotation.SidecarProxyImage; the injection template's istio-proxy image). */
export const PROXY_IMAGE = "sidecar.istio.io/proxyImage";
/** The proxy image's type, "distroless" or "debug", appended to its tag (annotation.SidecarProxyImageType). */
export const PROXY_IMAGE_TYPE = "sidecar.istio.io/proxyImageType";
/** The sidecar's resources (annotation.SidecarProxyCPU, SidecarProxyMemory, SidecarProxyCPULimit, SidecarProxyMemoryLimit). */
export const PROXY_CPU = "sidecar.istio.io/proxyCPU";
export const PROXY_MEMORY = "sidecar.istio.io/proxyMemory";
export const PROXY_CPU_LIMIT = "sidecar.istio.io/proxyCPULimit";
export const PROXY_MEMORY_LIMIT = "sidecar.istio.io/proxyMemoryLimit";
/**
 * A workload's locality, overriding its Service endpoints'; dots for slashes, as label values
 * cannot hold "/" (istio/istio pkg/config/labels, IstioLocality / LocalityLabel).
 */
export const LOCALITY = "istio-locality";
/** The newer locality label, which Istio reads before istio-locality (label.TopologyLocality; pkg/config/labels GetLocalityLabel): a pod that has it is left alone. */
export const TOPOLOGY_LOCALITY = "topology.istio.io/locality";
/** The node label that names a subzone (label.TopologySubzone). */
export const TOPOLOGY_SUBZONE = "topology.istio.io/subzone";
/**
 * On a namespace, "enabled": Istio's namespace-wide injection (the namespaceSelector of the
 * istio-sidecar-injector webhooks, which the end-to-end suite reads from the real rendering).
 */
export const INJECTION = "istio-injection";
/**
 * Ambient enrolment (label.IoIstioDataplaneMode): "ambient" on a pod or its namespace puts the
 * pod's traffic through the node's ztunnel; "none" on a pod keeps it out in an ambient namespace.
 */
export const DATAPLANE_MODE = "istio.io/dataplane-mode";
export const DATAPLANE_AMBIENT = "ambient";
export const DATAPLANE_NONE = "none";
/** The waypoint an ambient workload's traffic goes through, by the name of its Gateway (label.IoIstioUseWaypoint). */
export const USE_WAYPOINT = "istio.io/use-waypoint";
/** Written by Istio's injector on every pod it injected (annotation.SidecarStatus). */
export const SIDECAR_STATUS = "sidecar.istio.io/status";

// Revision tags: a MutatingWebhookConfiguration istio-revision-tag-<tag> carries the tag in this
// label and the revision it points to in istio.io/rev (istio/istio istioctl/pkg/tag).
export const REVISION_TAG = "istio.io/tag";

/** The injection templates a pod asks for, comma-separated; "gateway" for a gateway (annotation.InjectTemplates; the gateway chart's podAnnotations). */
export const INJECT_TEMPLATES = "inject.istio.io/templates";
/** On what istiod deploys for a Gateway API Gateway, "istio.io-gateway-controller" (label.GatewayManaged). */
export const GATEWAY_MANAGED = "gateway.istio.io/managed";
/** The gateway chart's label naming a gateway ("ingressgateway", "egressgateway"), which Istio Gateways select on (manifests/charts/gateway/templates/_helpers.tpl L20). */
export const GATEWAY_SELECTOR = "istio";
/** The Gateway API class of what istiod deploys for a Gateway ("istio", "istio-waypoint"); Gateway API's own label, written by kube-gateway.yaml L13. */
export const GATEWAY_CLASS = "gateway.networking.k8s.io/gateway-class-name";

/** Where istiod runs unless installed elsewhere: Istio's default install namespace and mesh root namespace. */
export const ISTIO_SYSTEM = "istio-system";
