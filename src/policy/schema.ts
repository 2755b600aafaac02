import { z } from "zod";
import { goDurationSeconds } from "../pod/durations.js";
import { dataplaneOf } from "./dataplane.js";
import { isDns1123Label, isLabelValue, isQualifiedName } from "../pod/k8s-names.js";
import { globProblem } from "./glob.js";
import { DEFAULT_NAMESPACE_PATTERN, MAX_PATTERN_LENGTH, namespacePatternProblem } from "./pattern-verdicts.js";
import { managedKeyProblem, managedProxyConfigFieldProblem } from "./settable-keys.js";

// A Kubernetes resource quantity (k8s.io/apimachinery/pkg/api/resource), or "" for "not set".
const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const quantity = z.string().refine((v) => v === "" || QUANTITY.test(v), { message: 'must be a Kubernetes quantity such as "500m" or "300Mi", or ""' });

/** A string the schema refuses with PROBLEM's words wherever PROBLEM finds one. */
const checkedString = (problem: (text: string) => string | undefined) =>
  z.string().superRefine((text, ctx) => {
    const found = problem(text);
    if (found) ctx.addIssue({ code: "custom", message: found });
  });

const labelKey = z.string().refine(isQualifiedName, { message: "must be a valid Kubernetes label key" });
const labelValue = z.string().refine(isLabelValue, { message: "must be a valid Kubernetes label value (63 characters of [A-Za-z0-9-_.])" });
const glob = z
  .string()
  .min(1, { message: 'must not be empty (use "*" for any)' })
  .superRefine((pattern, ctx) => {
    const problem = pattern === "" ? undefined : globProblem(pattern);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

export const HOST_PASSTHROUGH_MODES = ["none", "outbound", "inbound", "both"] as const;

/** How a service's pods join the mesh: Istio's sidecar injected into each, or ambient (ztunnel on the node, a waypoint for L7). */
export const DATAPLANES = ["sidecar", "ambient"] as const;

const proxyResources = z.strictObject({
  cpu: quantity.optional(),
  memory: quantity.optional(),
  cpuLimit: quantity.optional(),
  memoryLimit: quantity.optional(),
});

// A key a service entry may set on its pods: Istio's or mesh-tailor's, and none that another
// field of the policy manages (settable-keys.ts says which and why).
const settableKey = z.string().superRefine((key, ctx) => {
  if (!isQualifiedName(key)) ctx.addIssue({ code: "custom", message: `${JSON.stringify(key)} is not a valid Kubernetes label or annotation key` });
  else {
    const problem = managedKeyProblem(key);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }
});
const proxyConfigField = checkedString(managedProxyConfigFieldProblem);

// Istio's own ports (15000 admin to 15090 Prometheus): an ephemeral port taken from among them
// before the proxy binds it keeps the proxy from starting.
const ISTIO_PORTS = { low: 15000, high: 15090 } as const;

/** Why RANGE ("LOW-HIGH") is not a source port range to give a pod, or undefined. */
export function portRangeProblem(range: string): string | undefined {
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(range);
  if (!match) return 'must be "LOW-HIGH", e.g. "15100-65000"';
  const low = Number(match[1]);
  const high = Number(match[2]);
  if (low < 1024 || high > 65535 || low >= high) return "must have 1024 <= LOW < HIGH <= 65535 (below 1024 are privileged ports)";
  if (low <= ISTIO_PORTS.high && high >= ISTIO_PORTS.low)
    return `must leave out Istio's ports ${ISTIO_PORTS.low}-${ISTIO_PORTS.high}: one taken as a source port before the proxy binds it keeps the proxy from starting (e.g. "15100-65000")`;
  return undefined;
}

/** Why TEXT is not an idle timeout to give a proxy (a positive Go duration, as Istio parses it), or undefined. */
export function idleTimeoutProblem(text: string): string | undefined {
  const seconds = text.startsWith("-") ? undefined : goDurationSeconds(text);
  if (seconds === undefined) return 'must be a Go duration such as "90s", "10m" or "2h"';
  // Envoy reads 0 as "never": idle connections would pile up for good. It counts milliseconds,
  // so anything shorter is 0 to it.
  if (seconds < 0.001) return "must be 1ms or longer (Envoy counts milliseconds, and reads 0 as no idle timeout at all)";
  return undefined;
}

// An environment variable name as Kubernetes accepts it (a C identifier, or with '-' and '.').
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

// Where an app declares how long it keeps an idle connection open (its server keep-alive).
const appKeepAlive = z
  .strictObject({
    /** An env var of the app's containers, e.g. KEEP_ALIVE_TIMEOUT. */
    env: z.string().regex(ENV_NAME, { message: "must be an environment variable name" }).optional(),
    /** A command-line flag of the app's containers, as --flag=VALUE or --flag VALUE. */
    arg: z
      .string()
      .regex(/^--?[A-Za-z0-9][-A-Za-z0-9._]*$/, { message: 'must be a flag such as "--keep-alive-timeout"' })
      .optional(),
    /** The unit of a bare number; a Go duration ("5s") says its own. */
    unit: z.enum(["s", "ms"]).default("s"),
  })
  .refine((where) => (where.env === undefined) !== (where.arg === undefined), { message: "must name exactly one of env and arg" });

// Per-service switches for the connection failures the proxy brings (README, "Connections").
const connection = z.strictObject({
  /** The proxy accepts HTTP/1.0 (ISTIO_META_HTTP10 in the pod's ProxyConfig proxyMetadata); Istio refuses it by default. */
  http10: z.boolean().optional(),
  /** net.ipv4.ip_local_port_range for the pod: every inbound connection reaches the app from 127.0.0.6, and a slow app runs out of source ports. */
  localPortRange: checkedString(portRangeProblem).optional(),
  /** The idle timeout of the connections the proxy accepts (ISTIO_META_IDLE_TIMEOUT in the pod's ProxyConfig proxyMetadata). */
  idleTimeout: checkedString(idleTimeoutProblem).optional(),
  /** Where the app's containers declare their keep-alive, so a proxy that outlives it is warned of. */
  appKeepAlive: appKeepAlive.optional(),
});

const serviceEntry = z.strictObject({
  namespace: glob.default("*"),
  name: glob,
  inject: z.boolean().default(true),
  revision: z.string().refine(isDns1123Label, { message: "must be a DNS-1123 label, the name of an Istio revision" }).optional(),
  hostPassthrough: z.enum(HOST_PASSTHROUGH_MODES).default("none"),
  proxyResources: proxyResources.optional(),
  /** Istio pod labels for the service's selected pods (e.g. sidecar.istio.io/... switches Istio reads as labels). */
  labels: z.record(settableKey, labelValue).optional(),
  /** Istio pod annotations (e.g. traffic.sidecar.istio.io/excludeInboundPorts, sidecar.istio.io/logLevel). */
  annotations: z.record(settableKey, z.string()).optional(),
  /** ProxyConfig fields merged into proxy.istio.io/config (e.g. terminationDrainDuration, concurrency). */
  proxyConfig: z.record(proxyConfigField, z.json()).optional(),
  connection: connection.optional(),
  /** Overrides defaults.dataplane for this service. */
  dataplane: z.enum(DATAPLANES).optional(),
  /** The waypoint (a Gateway of class istio-waypoint in the pod's namespace) an ambient service's L7 traffic goes through. */
  waypoint: z.string().refine(isDns1123Label, { message: "must be a DNS-1123 label, the name of a Gateway of class istio-waypoint" }).optional(),
});

// "region.zone.subzone" with dots, because Kubernetes label values cannot hold the slashes Istio uses.
const locality = z.string().refine((v) => v === "" || (isLabelValue(v) && /^[^.]+(\.[^.]+){0,2}$/.test(v)), {
  message: 'must be "", "region", "region.zone" or "region.zone.subzone" and a valid label value',
});

const namespacePattern = z.string().superRefine((source, ctx) => {
  if (source.length > MAX_PATTERN_LENGTH) {
    ctx.addIssue({ code: "custom", message: `is ${source.length} characters long, over the ${MAX_PATTERN_LENGTH}-character limit` });
    return;
  }
  try {
    new RegExp(source);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: `is not a valid regular expression: ${(error as Error).message}` });
    return;
  }
  if (!source.includes("(?<branch>")) {
    ctx.addIssue({ code: "custom", message: "must have a named group (?<branch>...) that captures the branch" });
    return;
  }
  const problem = namespacePatternProblem(source);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

// An egress host of an Istio Sidecar: "namespace/dnsName", the namespace "*", "." (this one), "~"
// (none) or a name, the host "*", "*.suffix" or a name (istio/api networking/v1 sidecar.proto, IstioEgressListener.hosts).
const SIDECAR_HOST = /^(\*|\.|~|[a-z0-9]([-a-z0-9]*[a-z0-9])?)\/(\*|(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;
const sidecarHost = z
  .string()
  .refine((v) => SIDECAR_HOST.test(v), { message: 'must be "namespace/host" as Istio\'s Sidecar egress hosts are, e.g. "./*" or "istio-system/*"' });

export const policySchema = z
  .strictObject({
    apiVersion: z.literal("mesh-tailor.io/v1alpha1", { message: 'must be "mesh-tailor.io/v1alpha1"' }),
    kind: z.literal("TailorPolicy", { message: 'must be "TailorPolicy"' }),
    mesh: z
      .strictObject({
        enabled: z.boolean().default(true),
        serviceLabelKeys: z.array(labelKey).default(["app.kubernetes.io/name", "app"]),
      })
      .prefault({}),
    defaults: z
      .strictObject({
        inject: z.boolean().default(false),
        dataplane: z.enum(DATAPLANES).default("sidecar"),
        proxyResources: proxyResources.optional(),
        connection: connection.optional(),
      })
      .prefault({}),
    services: z.array(serviceEntry).default([]),
    startup: z.strictObject({ holdApplicationUntilProxyStarts: z.boolean().default(true) }).prefault({}),
    shutdown: z
      .strictObject({
        enabled: z.boolean().default(true),
        appPreStopSecondsDefault: z.number().int().nonnegative().default(30),
        marginSeconds: z.number().int().positive().default(5),
        adjustTerminationGracePeriod: z.boolean().default(true),
        // The mesh's own drain settings (meshConfig.defaultConfig), for pods that set none of their own
        // (src/pod/proxy-drain.ts reads a pod's): ProxyConfig.terminationDrainDuration, 5s by default;
        // its proxyMetadata EXIT_ON_ZERO_ACTIVE_CONNECTIONS (false) and MINIMUM_DRAIN_DURATION (5s).
        proxyDrainSeconds: z.number().int().nonnegative().default(5),
        exitOnZeroActiveConnections: z.boolean().default(false),
        minimumDrainSeconds: z.number().int().nonnegative().default(5),
        // "sleep": the Kubernetes sleep lifecycle action (beta and on by default since 1.30), needs no
        // binary in the proxy image; "exec": `sleep N` inside the proxy image, for older clusters.
        proxyPreStopAction: z.enum(["sleep", "exec"]).default("sleep"),
      })
      .prefault({}),
    locality: z.strictObject({ enabled: z.boolean().default(true), default: locality.default("") }).prefault({}),
    sandbox: z
      .strictObject({
        enabled: z.boolean().default(true),
        labelKey: labelKey.default("branch"),
        namespacePattern: namespacePattern.default(DEFAULT_NAMESPACE_PATTERN),
        defaultBranch: labelValue.default("master"),
        autoEnable: z.boolean().default(true),
      })
      .superRefine((sandbox, ctx) => {
        if (sandbox.autoEnable && !sandbox.namespacePattern.includes("(?<base>")) {
          ctx.addIssue({
            code: "custom",
            path: ["autoEnable"],
            message: "needs a named group (?<base>...) in namespacePattern that captures the base namespace; add one, or set autoEnable: false",
          });
        }
      })
      .prefault({}),
    namespaces: z
      .strictObject({
        defaultSidecar: z
          .strictObject({
            enabled: z.boolean().default(true),
            egressHosts: z
              .array(sidecarHost)
              .min(1, { message: "needs at least one host; set enabled: false for no default Sidecar" })
              .default(["./*", "istio-system/*"]),
          })
          .prefault({}),
      })
      .prefault({}),
    jobs: z.strictObject({ nativeSidecar: z.boolean().default(false) }).prefault({}),
  })
  .superRefine((policy, ctx) => {
    // A waypoint serves ambient pods only: a sidecar's own proxy does L7.
    policy.services.forEach((entry, index) => {
      if (entry.waypoint !== undefined && dataplaneOf(entry, policy) !== "ambient")
        ctx.addIssue({
          code: "custom",
          path: ["services", index, "waypoint"],
          message: "needs dataplane: ambient (a sidecar does L7 itself, and no waypoint serves it)",
        });
    });
  });

export type TailorPolicy = z.output<typeof policySchema>;
export type ServiceEntry = TailorPolicy["services"][number];
export type ProxyResources = z.output<typeof proxyResources>;
export type Connection = z.output<typeof connection>;
export type AppKeepAlive = z.output<typeof appKeepAlive>;
export type Dataplane = (typeof DATAPLANES)[number];
export type HostPassthroughMode = (typeof HOST_PASSTHROUGH_MODES)[number];
