import * as istio from "../keys/istio.js";
import { goBool, goDurationSeconds } from "./durations.js";
import { findIstioProxy, type ProxyPlacement } from "./istio-proxy.js";
import { MAX_PROXY_CONFIG_CHARS, readProxyConfig } from "./proxy-config.js";
import type { Container, Pod } from "./types.js";

// How long a proxy keeps running once it is told to stop, read the way Istio's agent decides it
// (istio/istio at the version the e2e suite pins):
// - classic sidecar: on SIGTERM the agent drains inbound listeners, then sleeps the full
//   ProxyConfig terminationDrainDuration (default 5s) before it stops Envoy
//   (pkg/envoy/agent.go terminate(); pkg/config/mesh/mesh.go default);
// - with EXIT_ON_ZERO_ACTIVE_CONNECTIONS (pilot-agent env, default false) it sleeps
//   MINIMUM_DRAIN_DURATION (default 5s), checks connections one second later and every second
//   after, and exits when none is left, bounded by nothing but the grace period
//   (pilot/cmd/pilot-agent/options/options.go; pkg/envoy/agent.go);
// - native sidecar with Istio's preStop (`pilot-agent request ... POST drain`): the drain starts
//   when the pod starts stopping, and on the SIGTERM the kubelet sends after the app has exited
//   the agent exits at once: neither setting is waited for (pkg/envoy/agent.go, "exit path 4";
//   injection-template.yaml). With another preStop (global.proxy.lifecycle) it stops as a classic one.
// terminationDrainDuration comes from `proxy.istio.io/config`, which the agent reads above all
// (pilot/cmd/pilot-agent/config/config.go), else from the PROXY_CONFIG env injection wrote, which
// leaves it out when it is the default (pkg/kube/inject/template.go). The two env vars are the
// agent's own env (injection writes proxyMetadata there), else the annotation's proxyMetadata
// for a pod not yet injected. Where none is set, the mesh's, as the policy states them.

const ISTIO_DEFAULT_DRAIN_SECONDS = 5;
const ISTIO_DEFAULT_MINIMUM_DRAIN_SECONDS = 5;
const ACTIVE_CONNECTION_CHECK_SECONDS = 1;

/** The mesh's drain settings (meshConfig.defaultConfig), as the policy's `shutdown` states them. */
export interface MeshDrainDefaults {
  readonly proxyDrainSeconds: number;
  readonly exitOnZeroActiveConnections: boolean;
  readonly minimumDrainSeconds: number;
}

export interface ProxyDrain {
  /** Seconds the proxy may run after its SIGTERM: what the grace period must hold past the proxy's preStop. */
  readonly seconds: number;
  /** Where the seconds come from, for warnings. */
  readonly source: string;
  /** Settings Istio would not read, and what is counted instead. */
  readonly warnings: readonly string[];
}

interface DrainSettings {
  terminationDrain?: unknown;
  exitOnZero?: unknown;
  minimumDrain?: unknown;
}

// Every pod of a workload carries the same annotation: its settings are read once. Texts over
// the size mesh-tailor parses are not kept, so the memo holds at most 256 × 16 KiB.
const MEMO_ENTRIES = 256;
const memo = new Map<string, DrainSettings>();

function annotationSettings(text: string): DrainSettings {
  const known = memo.get(text);
  if (known) return known;
  const read = readProxyConfig(text);
  // An annotation mesh-tailor cannot read is warned about where it is merged; its drain counts as unset here.
  const value = read.ok ? read.value : {};
  const metadata = value["proxyMetadata"];
  const fromMetadata = (key: string): unknown => (metadata !== null && typeof metadata === "object" ? (metadata as Record<string, unknown>)[key] : undefined);
  const settings = {
    terminationDrain: value["terminationDrainDuration"],
    exitOnZero: fromMetadata("EXIT_ON_ZERO_ACTIVE_CONNECTIONS"),
    minimumDrain: fromMetadata("MINIMUM_DRAIN_DURATION"),
  };
  if (text.length > MAX_PROXY_CONFIG_CHARS) return settings;
  if (memo.size >= MEMO_ENTRIES) memo.clear();
  memo.set(text, settings);
  return settings;
}

/** The proxy's env as the kubelet sets it: of two entries with one name, the last. */
function envOf(container: Container): (name: string) => unknown {
  const env = Array.isArray(container["env"]) ? (container["env"] as { name?: unknown; value?: unknown }[]) : [];
  return (name) => env.findLast((entry) => entry?.name === name)?.value;
}

function proxyEnvSettings(container: Container): DrainSettings {
  const env = envOf(container);
  const settings: DrainSettings = { exitOnZero: env("EXIT_ON_ZERO_ACTIVE_CONNECTIONS"), minimumDrain: env("MINIMUM_DRAIN_DURATION") };
  const proxyConfig = env("PROXY_CONFIG");
  if (typeof proxyConfig === "string" && proxyConfig.length <= MAX_PROXY_CONFIG_CHARS) {
    try {
      const parsed = JSON.parse(proxyConfig) as { terminationDrainDuration?: unknown } | null;
      // Injection leaves the field out when it is Istio's default.
      if (parsed !== null && typeof parsed === "object") settings.terminationDrain = parsed.terminationDrainDuration ?? `${ISTIO_DEFAULT_DRAIN_SECONDS}s`;
    } catch {
      // Not JSON: Istio wrote none of it; the annotation or the policy decides.
    }
  }
  return settings;
}

/** Istio's preStop for a native sidecar: `pilot-agent request --debug-port=N POST drain`. */
function drainsFromPreStop(container: Container): boolean {
  const command = container.lifecycle?.preStop?.exec?.command;
  return Array.isArray(command) && command.includes("pilot-agent") && command.includes("drain");
}

/** Whether POD's proxy (PROXY, where Istio injected it) is, or will be, a native sidecar drained by Istio's preStop. */
function drainedByPreStop(pod: Pod, proxy: ProxyPlacement | undefined): boolean {
  if (proxy) return proxy.mode === "native" && drainsFromPreStop(proxy.container);
  // The injection template: native unless the annotation says "false" (injection-template.yaml).
  // Without the annotation Istio decides by its nodes' versions: counted as classic, the longer.
  const annotation = pod.metadata?.annotations?.[istio.NATIVE_SIDECAR];
  return annotation !== undefined && annotation !== "false";
}

const quoted = (value: unknown): string => JSON.stringify(value)?.slice(0, 64) ?? String(value);

/** How long POD's proxy runs after its SIGTERM, by the pod's own settings, else the mesh's as MESH states them. */
export function proxyDrainOf(pod: Pod, mesh: MeshDrainDefaults): ProxyDrain {
  const proxy = findIstioProxy(pod);
  if (drainedByPreStop(pod, proxy)) return { seconds: 0, source: "a native sidecar, which Istio drains while the app stops", warnings: [] };

  const text = pod.metadata?.annotations?.[istio.PROXY_CONFIG];
  const annotation = typeof text === "string" ? annotationSettings(text) : {};
  const env = proxy ? proxyEnvSettings(proxy.container) : {};
  const warnings: string[] = [];
  type Found = { value: unknown; where: string };
  const inAnnotation = (key: keyof DrainSettings): Found | undefined =>
    annotation[key] !== undefined ? { value: annotation[key], where: istio.PROXY_CONFIG } : undefined;
  const inEnv = (key: keyof DrainSettings): Found | undefined =>
    env[key] !== undefined ? { value: env[key], where: "the istio-proxy container's env" } : undefined;

  const exitSetting = inEnv("exitOnZero") ?? inAnnotation("exitOnZero");
  let exitOnZero = mesh.exitOnZeroActiveConnections;
  if (exitSetting) {
    const read = goBool(exitSetting.value);
    if (read === undefined)
      warnings.push(
        `mesh-tailor: EXIT_ON_ZERO_ACTIVE_CONNECTIONS ${quoted(exitSetting.value)} in ${exitSetting.where} is not a boolean Istio reads (a string: "true" or "false"); counted as Istio's default, false`,
      );
    exitOnZero = read ?? false;
  }

  if (exitOnZero) {
    const setting = inEnv("minimumDrain") ?? inAnnotation("minimumDrain");
    const read = setting ? goDurationSeconds(setting.value) : undefined;
    if (setting && read === undefined)
      warnings.push(
        `mesh-tailor: MINIMUM_DRAIN_DURATION ${quoted(setting.value)} in ${setting.where} is not a duration Istio reads (e.g. "10s"); counted as Istio's default, ${ISTIO_DEFAULT_MINIMUM_DRAIN_SECONDS}s`,
      );
    const minimum = setting ? (read ?? ISTIO_DEFAULT_MINIMUM_DRAIN_SECONDS) : mesh.minimumDrainSeconds;
    const where = setting && read !== undefined ? setting.where : setting ? "Istio's default" : "the policy's shutdown.minimumDrainSeconds";
    return {
      seconds: Math.ceil(minimum) + ACTIVE_CONNECTION_CHECK_SECONDS,
      source: `MINIMUM_DRAIN_DURATION from ${where} and the first connection check a second later, with EXIT_ON_ZERO_ACTIVE_CONNECTIONS`,
      warnings,
    };
  }

  const setting = inAnnotation("terminationDrain") ?? inEnv("terminationDrain");
  const read = setting ? goDurationSeconds(setting.value) : undefined;
  if (setting && read === undefined)
    warnings.push(
      `mesh-tailor: terminationDrainDuration ${quoted(setting.value)} in ${setting.where} is not a duration Istio reads (e.g. "30s" or "1m"); counted as the policy's ${mesh.proxyDrainSeconds}s`,
    );
  if (setting && read !== undefined) return { seconds: Math.ceil(read), source: `terminationDrainDuration from ${setting.where}`, warnings };
  return { seconds: mesh.proxyDrainSeconds, source: "the policy's shutdown.proxyDrainSeconds", warnings };
}
