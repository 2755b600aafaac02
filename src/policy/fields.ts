// What each policy field means, in one place: the comments of `mesh-tailor policy default`
// (and manifests/policy.yaml) and the README's policy table are generated from it, with the
// defaults taken from the schema. A test refuses a schema field that has no row here.

export interface FieldDoc {
  /** Dotted path; `services[]` for the list's entries. A row for an object covers its fields. */
  readonly path: string;
  /** Markdown, for the README. */
  readonly meaning: string;
  /** The same for a YAML comment, when Markdown would read badly there. */
  readonly comment?: string;
  /** Shown instead of the schema's default (a required field has none). */
  readonly defaultText?: string;
}

export const FIELD_DOCS: readonly FieldDoc[] = [
  { path: "mesh.enabled", meaning: '`false` = system-wide rollback: every pod gets `sidecar.istio.io/inject: "false"`' },
  { path: "mesh.serviceLabelKeys", meaning: "labels that name a pod's service, first present wins (else its workload's name)" },
  { path: "defaults.inject", meaning: "selection for services no entry matches" },
  {
    path: "defaults.dataplane",
    meaning: "how a selected pod joins the mesh: `sidecar` (Istio's injector adds a proxy) or `ambient` (the node's ztunnel; see [Ambient](#ambient))",
    comment: "how a selected pod joins the mesh: sidecar (Istio's injector adds a proxy) or ambient (the node's ztunnel)",
  },
  {
    path: "defaults.proxyResources",
    meaning: "`{cpu, memory, cpuLimit, memoryLimit}` for every selected pod; unset, Istio's mesh-wide proxy resources apply",
    comment: "{cpu, memory, cpuLimit, memoryLimit} for every selected pod (Istio's proxyCPU... annotations); unset, Istio's mesh-wide proxy resources apply",
  },
  {
    path: "defaults.connection.http10",
    meaning: "`true`: the proxy accepts HTTP/1.0 callers (`ISTIO_META_HTTP10` in the pod's ProxyConfig; see [Connections](#connections))",
    comment: "true: the proxy accepts HTTP/1.0 callers (ISTIO_META_HTTP10 in the pod's ProxyConfig)",
  },
  {
    path: "defaults.connection.localPortRange",
    meaning: '`"LOW-HIGH"`: the pod sysctl `net.ipv4.ip_local_port_range` for every selected pod (see [Connections](#connections))',
    comment: "LOW-HIGH: the pod sysctl net.ipv4.ip_local_port_range for every selected pod",
  },
  {
    path: "defaults.connection.idleTimeout",
    meaning:
      'a Go duration (`"90s"`, `"2h"`): the idle timeout of the connections the proxy accepts (`ISTIO_META_IDLE_TIMEOUT` in the pod\'s ProxyConfig; Envoy\'s default is 1h; see [Connections](#connections))',
    comment: "a Go duration (90s, 2h): the idle timeout of the connections the proxy accepts (ISTIO_META_IDLE_TIMEOUT; Envoy's default is 1h)",
  },
  {
    path: "defaults.connection.appKeepAlive",
    meaning:
      "`{env: NAME}` or `{arg: --flag}`, and `unit` (`s` or `ms`) of a bare number: where the app's containers declare their keep-alive; admission warns when the proxy's pool to the app outlives it (see [Connections](#connections))",
    comment: "{env: NAME} or {arg: --flag}, unit s|ms: where the app declares its keep-alive; admission warns when the proxy's pool to the app outlives it",
  },
  {
    path: "services",
    meaning: "per-service entries; **first match wins**",
    comment: "per-service entries, first match wins; globs (*, ?, [a-z], [!a-z]) in namespace and name",
  },
  {
    path: "services[].namespace",
    meaning: "glob (`*`, `?`, `[a-z]`, `[!a-z]`, `\\`; see [Globs](#globs)) on the namespace",
    comment: "glob (*, ?, [a-z], [!a-z], \\) on the namespace",
  },
  {
    path: "services[].name",
    meaning: "glob on the service name (else on the workload's name: a Helm release's pods named after their chart are still found)",
    defaultText: "required",
  },
  { path: "services[].inject", meaning: "listing a service migrates it; `false` keeps it out" },
  { path: "services[].revision", meaning: "`istio.io/rev`, to move one service to a canary control plane" },
  { path: "services[].dataplane", meaning: "overrides `defaults.dataplane`" },
  {
    path: "services[].waypoint",
    meaning:
      "an ambient service's waypoint, a Gateway of class `istio-waypoint` in its namespace: `istio.io/use-waypoint` on its pods (mesh-tailor never creates Gateways)",
  },
  { path: "services[].hostPassthrough", meaning: "`none`, `outbound`, `inbound`, `both`" },
  { path: "services[].proxyResources", meaning: "overrides `defaults.proxyResources` field by field" },
  { path: "services[].connection.http10", meaning: "overrides `defaults.connection.http10`" },
  { path: "services[].connection.localPortRange", meaning: "overrides `defaults.connection.localPortRange`" },
  { path: "services[].connection.idleTimeout", meaning: "overrides `defaults.connection.idleTimeout`" },
  { path: "services[].connection.appKeepAlive", meaning: "overrides `defaults.connection.appKeepAlive`" },
  {
    path: "services[].labels",
    meaning: "Istio pod labels for the service's selected pods; keys in `*.istio.io` or `mesh-tailor.io` only, none another field manages",
  },
  {
    path: "services[].annotations",
    meaning: "Istio pod annotations, e.g. `traffic.sidecar.istio.io/excludeInboundPorts`, `sidecar.istio.io/logLevel`; same keys rule",
  },
  { path: "services[].proxyConfig", meaning: "ProxyConfig fields merged into `proxy.istio.io/config`, e.g. `terminationDrainDuration`, `concurrency`" },
  { path: "startup.holdApplicationUntilProxyStarts", meaning: "start-up ordering: the app starts once the proxy is ready" },
  { path: "shutdown.enabled", meaning: "shutdown ordering: the proxy outlives the app" },
  { path: "shutdown.appPreStopSecondsDefault", meaning: "assumed app preStop when it cannot be read" },
  { path: "shutdown.marginSeconds", meaning: "proxy preStop = longest app preStop + margin" },
  { path: "shutdown.adjustTerminationGracePeriod", meaning: "raise the grace period to cover preStop + drain" },
  { path: "shutdown.proxyDrainSeconds", meaning: "the mesh's `terminationDrainDuration`, counted into the grace period where a pod sets none" },
  { path: "shutdown.exitOnZeroActiveConnections", meaning: "the mesh's `EXIT_ON_ZERO_ACTIVE_CONNECTIONS`: the drain counted is then `MINIMUM_DRAIN_DURATION`" },
  { path: "shutdown.minimumDrainSeconds", meaning: "the mesh's `MINIMUM_DRAIN_DURATION`, counted where a pod sets none" },
  { path: "shutdown.proxyPreStopAction", meaning: "`sleep` (Kubernetes sleep action) or `exec` (`sleep N` in the proxy image)" },
  { path: "locality.enabled", meaning: "label Service-less pods with `istio-locality`" },
  { path: "locality.default", meaning: "`region.zone.subzone` for pods that pin none" },
  { path: "sandbox.enabled", meaning: "branch labels" },
  { path: "sandbox.labelKey", meaning: "the label key" },
  {
    path: "sandbox.namespacePattern",
    meaning: "must have a `(?<branch>...)` group; refused if it can backtrack (see [Namespace patterns](#namespace-patterns))",
    comment: "must have a (?<branch>...) group; refused if it can backtrack",
  },
  { path: "sandbox.defaultBranch", meaning: "branch of every pod outside a sandbox" },
  { path: "sandbox.autoEnable", meaning: "the controller enables a sandbox namespace when its base namespace (the `(?<base>...)` group) is enabled" },
  {
    path: "namespaces.defaultSidecar.enabled",
    meaning: "the controller keeps a `Sidecar` named `default` in every enabled namespace, so pods there get only the configuration they need",
  },
  { path: "namespaces.defaultSidecar.egressHosts", meaning: "that Sidecar's egress hosts, Istio's `namespace/host` form" },
  { path: "jobs.nativeSidecar", meaning: "native sidecars for Job pods, so Jobs can finish" },
];

/** The row that documents PATH: its own, or the nearest enclosing object's. */
export function docFor(path: string): FieldDoc | undefined {
  for (let candidate = path; candidate; candidate = candidate.includes(".") ? candidate.slice(0, candidate.lastIndexOf(".")) : "") {
    const doc = FIELD_DOCS.find((d) => d.path === candidate);
    if (doc) return doc;
  }
  return undefined;
}

/** A YAML comment from a Markdown meaning: no backticks or bold. */
export const commentOf = (doc: FieldDoc): string => doc.comment ?? doc.meaning.replace(/`/g, "").replace(/\*\*/g, "");
