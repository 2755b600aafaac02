import * as istio from "../keys/istio.js";
import type { TailorPolicy } from "../policy/schema.js";
import { goBool, goDurationSeconds, protoDurationSeconds } from "./durations.js";
import { findIstioProxy } from "./istio-proxy.js";
import { MAX_PROXY_CONFIG_CHARS, readProxyConfig } from "./proxy-config.js";
import type { Pod } from "./types.js";

// How long a proxy keeps running once it is told to stop, read the way Istio's agent decides it
// (istio/istio at the version the e2e suite pins):
// - classic sidecar: on SIGTERM the agent drains inbound listeners, then sleeps the full
//   ProxyConfig terminationDrainDuration (default 5s) before it stops Envoy
//   (pkg/envoy/agent.go terminate(); pkg/config/mesh/mesh.go default);
// - with EXIT_ON_ZERO_ACTIVE_CONNECTIONS (pilot-agent env, default false) it sleeps
//   MINIMUM_DRAIN_DURATION (default 5s), then exits once no connection is left, with no bound
//   of its own but the grace period (pilot/cmd/pilot-agent/options/options.go; pkg/envoy/agent.go);
// - native sidecar: Istio's preStop starts the drain when the pod starts stopping, and on the
//   SIGTERM the kubelet sends after the app has exited the agent exits at once: neither setting is
//   waited for (pkg/envoy/agent.go, "exit path 4"; injection-template.yaml's native preStop).
// Per pod, the settings come from `proxy.istio.io/config` (terminationDrainDuration, and the two
// env vars as proxyMetadata, which injection writes into the proxy's env); once Istio has
// injected, from the proxy's own env (PROXY_CONFIG and the env vars, the mesh's defaults merged in).

const ISTIO_DEFAULT_MINIMUM_DRAIN_SECONDS = 5;

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

// Every pod of a workload carries the same annotation: its settings are read once.
const MEMO_ENTRIES = 256;
const memo = new Map<string, DrainSettings>();

function annotationSettings(text: string): DrainSettings {
  const known = memo.get(text);
  if (known) return known;
  const read = readProxyConfig(text);
  // An annotation mesh-tailor cannot read is warned about where it is merged; its drain counts as unset here.
  const value = read.ok ? read.value : {};
  const metadata = (value["proxyMetadata"] ?? {}) as Record<string, unknown>;
  const settings = {
    terminationDrain: value["terminationDrainDuration"],
    exitOnZero: metadata["EXIT_ON_ZERO_ACTIVE_CONNECTIONS"],
    minimumDrain: metadata["MINIMUM_DRAIN_DURATION"],
  };
  if (memo.size >= MEMO_ENTRIES) memo.clear();
  memo.set(text, settings);
  return settings;
}

function proxyEnvSettings(pod: Pod): DrainSettings {
  const env = findIstioProxy(pod)?.container["env"];
  if (!Array.isArray(env)) return {};
  const valueOf = (name: string): unknown => (env as { name?: unknown; value?: unknown }[]).find((v) => v?.name === name)?.value;
  const settings: DrainSettings = { exitOnZero: valueOf("EXIT_ON_ZERO_ACTIVE_CONNECTIONS"), minimumDrain: valueOf("MINIMUM_DRAIN_DURATION") };
  const proxyConfig = valueOf("PROXY_CONFIG");
  if (typeof proxyConfig === "string" && proxyConfig.length <= MAX_PROXY_CONFIG_CHARS) {
    try {
      settings.terminationDrain = (JSON.parse(proxyConfig) as { terminationDrainDuration?: unknown } | null)?.terminationDrainDuration;
    } catch {
      // Not JSON: Istio wrote none of it; the annotation or the policy decides.
    }
  }
  return settings;
}

const quoted = (value: unknown): string => JSON.stringify(value)?.slice(0, 64) ?? String(value);

/** How long POD's proxy runs after its SIGTERM, by the pod's own settings, else the mesh's as the policy states them. */
export function proxyDrainOf(pod: Pod, shutdown: TailorPolicy["shutdown"]): ProxyDrain {
  const proxy = findIstioProxy(pod);
  const native = proxy ? proxy.mode === "native" : pod.metadata?.annotations?.[istio.NATIVE_SIDECAR] === "true";
  if (native) return { seconds: 0, source: "a native sidecar, which Istio drains while the app stops", warnings: [] };

  const text = pod.metadata?.annotations?.[istio.PROXY_CONFIG];
  const own = typeof text === "string" ? annotationSettings(text) : {};
  const env = proxyEnvSettings(pod);
  const warnings: string[] = [];
  const pick = (key: keyof DrainSettings): { value: unknown; where: string } | undefined =>
    own[key] !== undefined
      ? { value: own[key], where: istio.PROXY_CONFIG }
      : env[key] !== undefined
        ? { value: env[key], where: "the istio-proxy container's env" }
        : undefined;

  const exitSetting = pick("exitOnZero");
  let exitOnZero = shutdown.exitOnZeroActiveConnections;
  if (exitSetting) {
    const read = goBool(exitSetting.value);
    if (read === undefined)
      warnings.push(
        `mesh-tailor: EXIT_ON_ZERO_ACTIVE_CONNECTIONS ${quoted(exitSetting.value)} in ${exitSetting.where} is not a boolean Istio reads; counted as Istio's default, false`,
      );
    exitOnZero = read ?? false;
  }

  if (exitOnZero) {
    const setting = pick("minimumDrain");
    const read = setting ? goDurationSeconds(setting.value) : undefined;
    if (setting && read === undefined)
      warnings.push(
        `mesh-tailor: MINIMUM_DRAIN_DURATION ${quoted(setting.value)} in ${setting.where} is not a duration Istio reads (e.g. "10s"); counted as Istio's default, ${ISTIO_DEFAULT_MINIMUM_DRAIN_SECONDS}s`,
      );
    const seconds = Math.ceil(setting ? (read ?? ISTIO_DEFAULT_MINIMUM_DRAIN_SECONDS) : shutdown.minimumDrainSeconds);
    const where = setting && read !== undefined ? setting.where : "the policy's shutdown.minimumDrainSeconds";
    return { seconds, source: `MINIMUM_DRAIN_DURATION from ${where}, with EXIT_ON_ZERO_ACTIVE_CONNECTIONS`, warnings };
  }

  const setting = pick("terminationDrain");
  const read = setting ? protoDurationSeconds(setting.value) : undefined;
  if (setting && read === undefined)
    warnings.push(
      `mesh-tailor: terminationDrainDuration ${quoted(setting.value)} in ${setting.where} is not a duration Istio reads (seconds, e.g. "30s"); counted as the policy's ${shutdown.proxyDrainSeconds}s`,
    );
  if (setting && read !== undefined) return { seconds: Math.ceil(read), source: `terminationDrainDuration from ${setting.where}`, warnings };
  return { seconds: shutdown.proxyDrainSeconds, source: "the policy's shutdown.proxyDrainSeconds", warnings };
}
