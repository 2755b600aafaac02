// The istiod settings a mesh past Istio's load-tested size needs changed from their defaults,
// each checked against Istio's code at the version this repository pins (istio.io/istio
// v0.0.0-20260827124520-eed52ebb66ad, VERSION 1.31); paths are in that module.
//
// Two settings of the report this check answers are gone from that Istio, so they are not
// judged: PILOT_ENABLE_FLOW_CONTROL (removed by istio/istio#37916: no Go file reads it) and
// PILOT_XDS_SEND_TIMEOUT (removed by istio/istio#48543, "remove send timeout").
import { goBool, goDurationSeconds } from "../../pod/durations.js";
import type { Deployment, EnvVar, WorkloadContainer } from "./facts.js";
import { cpuCores } from "./gateway-workers.js";
import { isLarge, manyProxies, manyServices, type MeshSize } from "./mesh-size.js";

/** The most pushes istiod runs at once on its own: min(15 + 5 x GOMAXPROCS, 100) (pilot/pkg/features/tuning.go L39-56). */
export const autoPushThrottle = (procs: number): number => Math.min(15 + 5 * procs, 100);
export const PUSH_THROTTLE_CAP = 100;

/** What one istiod container says about the settings: the env as written, and how many CPUs Go sees. */
export interface IstiodEnv {
  readonly container: string;
  /** Each variable's literal value; undefined for one set from a ConfigMap, Secret or field. */
  readonly values: ReadonlyMap<string, string | undefined>;
  /** envFrom may set any variable this does not show. */
  readonly hasEnvFrom: boolean;
  /** GOMAXPROCS: the chart sets it from limits.cpu (istio-discovery/templates/deployment.yaml L227-231); undefined when it is the node's CPUs. */
  readonly procs: number | undefined;
}

const DISCOVERY = "discovery";

export function istiodEnv(deployment: Deployment): IstiodEnv | undefined {
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  const container: WorkloadContainer | undefined = containers.find((c) => c.name === DISCOVERY) ?? containers[0];
  if (!container) return undefined;
  const env: readonly EnvVar[] = container.env ?? [];
  const values = new Map<string, string | undefined>();
  // Kubernetes gives a container the last of two variables with one name.
  for (const variable of env) values.set(variable.name, variable.valueFrom ? undefined : (variable.value ?? ""));
  const limit = cpuCores(container.resources?.limits?.["cpu"]);
  const gomaxprocs = env.findLast((v) => v.name === "GOMAXPROCS");
  let procs: number | undefined;
  if (gomaxprocs?.value !== undefined && /^\d+$/.test(gomaxprocs.value) && Number(gomaxprocs.value) > 0) procs = Number(gomaxprocs.value);
  // The chart's resourceFieldRef, or Go (>= 1.25) itself, follows the CPU limit; without one, the node's CPUs.
  else if (limit !== undefined) procs = Math.ceil(limit);
  return { container: container.name ?? DISCOVERY, values, hasEnvFrom: (container.envFrom?.length ?? 0) > 0, procs };
}

/** A setting doctor advises on: when it applies, whether istiod runs it at its default, what to set and why. */
interface Setting {
  readonly name: string;
  readonly advised: string;
  readonly defaultText: string;
  readonly appliesTo: (size: MeshSize) => boolean;
  /** Whether Istio reads TEXT (the env's value; undefined when unset) as its default. */
  readonly atDefault: (text: string | undefined, env: IstiodEnv) => boolean;
  readonly why: (size: MeshSize, env: IstiodEnv, replicas: number) => string;
}

// pkg/env/var.go L252-349: an unset variable, or one Go cannot parse, is the default.
const boolAtDefault = (fallback: boolean) => (text: string | undefined) => (goBool(text) ?? fallback) === fallback;
const durationAtDefault = (seconds: number) => (text: string | undefined) => (goDurationSeconds(text) ?? seconds) === seconds;
const goInt = (text: string | undefined): number | undefined => (text !== undefined && /^[+-]?\d+$/.test(text) ? Number(text) : undefined);

export const SETTINGS: readonly Setting[] = [
  {
    // pilot/pkg/features/experimental.go L29-30: default false. Off, a gateway (model.Router) is
    // sent a cluster for every service its scope sees (pilot/pkg/networking/core/cluster.go
    // L68-72); on, only those its VirtualServices route to (pilot/pkg/model/push_context.go
    // L882-911, GatewayServices).
    name: "PILOT_FILTER_GATEWAY_CLUSTER_CONFIG",
    advised: "true",
    defaultText: "false",
    appliesTo: manyServices,
    atDefault: boolAtDefault(false),
    why: (size) =>
      `every gateway is sent a cluster for each of the ${size.services.toLocaleString("en-US")} Services, on every push; with it, only the services its VirtualServices route to`,
  },
  {
    // pilot/pkg/features/tuning.go L39-56: 0 (unset) means min(15 + 5 x GOMAXPROCS, 100); it
    // sizes the semaphore every push waits on (pilot/pkg/xds/discovery.go L152, L547-548).
    name: "PILOT_PUSH_THROTTLE",
    advised: String(PUSH_THROTTLE_CAP),
    defaultText: "0 (automatic)",
    appliesTo: manyProxies,
    atDefault: (text, env) => {
      const value = goInt(text) ?? 0;
      if (value > 0) return false;
      return env.procs === undefined || autoPushThrottle(env.procs) < PUSH_THROTTLE_CAP;
    },
    why: (size, env, replicas) => {
      const perReplica = Math.ceil(size.proxiedPods / Math.max(replicas, 1)).toLocaleString("en-US");
      const now =
        env.procs === undefined
          ? "min(15 + 5 x the node's CPUs, 100), as istiod has no CPU limit"
          : `${autoPushThrottle(env.procs)} (min(15 + 5 x ${env.procs} CPUs, 100))`;
      return `a push reaches each of ~${perReplica} proxies per replica only ${now} at a time; 100 is the automatic value's own cap (reached at 17 CPUs): give istiod the CPUs to match`;
    },
  },
  {
    // pilot/pkg/features/tuning.go L77-83: default 100ms. A push starts once no change has come
    // for this long (pilot/pkg/xds/discovery.go L380), endpoint changes included while
    // PILOT_ENABLE_EDS_DEBOUNCE is on (its default, tuning.go L92-97).
    name: "PILOT_DEBOUNCE_AFTER",
    advised: "500ms",
    defaultText: "100ms",
    appliesTo: isLarge,
    atDefault: durationAtDefault(0.1),
    why: () => "changes that come more than 100ms apart (a rollout's pods) each start their own push; 500ms merges more of them into one",
  },
  {
    // pilot/pkg/features/tuning.go L85-90: default 10s. Changes that never pause for
    // PILOT_DEBOUNCE_AFTER still push once this long has passed since the first (discovery.go L380).
    name: "PILOT_DEBOUNCE_MAX",
    advised: "3s",
    defaultText: "10s",
    appliesTo: isLarge,
    atDefault: durationAtDefault(10),
    why: () => "at this size changes rarely pause, so pushes wait for this bound: proxies see new endpoints up to 10s late; 3s bounds it",
  },
];

/** One setting to change on one istiod: the value to set, what it is now, and why. */
export interface Advice {
  readonly name: string;
  readonly value: string;
  readonly now: string;
  readonly why: string;
}

export interface IstiodJudgement {
  readonly container: string;
  readonly advice: readonly Advice[];
  /** Settings not shown in the env: set from a ConfigMap, Secret or envFrom, which doctor does not read. */
  readonly unseen: readonly string[];
}

/** What DEPLOYMENT (an istiod) should change for a mesh of SIZE; nothing on a mesh below the thresholds. */
export function judgeIstiod(deployment: Deployment, size: MeshSize): IstiodJudgement | undefined {
  const env = istiodEnv(deployment);
  if (!env) return undefined;
  const advice: Advice[] = [];
  const unseen: string[] = [];
  for (const setting of SETTINGS) {
    if (!setting.appliesTo(size)) continue;
    const written = env.values.has(setting.name);
    const text = env.values.get(setting.name);
    if ((written && text === undefined) || (!written && env.hasEnvFrom)) {
      unseen.push(setting.name);
      continue;
    }
    if (!setting.atDefault(text, env)) continue;
    const now = text === undefined ? `unset, ${setting.defaultText}` : `"${text}", read as the default ${setting.defaultText}`;
    advice.push({ name: setting.name, value: setting.advised, now, why: setting.why(size, env, deployment.spec?.replicas ?? 1) });
  }
  return { container: env.container, advice, unseen };
}
