import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { KubeApi } from "../kube/client.js";
import { EventRecorder } from "../kube/events.js";
import { LeaderElector } from "../kube/leader-election.js";
import { createProbeApp } from "../runtime/probe-app.js";
import { startProbeServer } from "../runtime/probe-server.js";
import { POLICY_CONFIGMAP, readInstalledPolicyText } from "../ops/installed-policy.js";
import { PolicySource } from "../runtime/policy-source.js";
import { ControllerMetrics } from "./metrics.js";
import { NamespaceController } from "./namespace-controller.js";

export interface LeaseTiming {
  readonly leaseSeconds: number;
  readonly renewDeadlineSeconds: number;
  readonly retrySeconds: number;
}

/** client-go's and controller-runtime's defaults. */
export const DEFAULT_LEASE_TIMING: LeaseTiming = { leaseSeconds: 15, renewDeadlineSeconds: 10, retrySeconds: 2 };

export interface ControllerSettings {
  readonly configFile: string | undefined;
  readonly context: string | undefined;
  readonly port: number;
  readonly host: string | undefined;
  /** The namespace mesh-tailor runs in: its Lease lives there, and it is never enabled. */
  readonly ownNamespace: string;
  readonly leaseName: string;
  readonly identity: string | undefined;
  readonly lease: LeaseTiming;
  readonly pollMs: number;
  readonly logger: Logger;
  /** Resolves when the process should stop (SIGTERM). */
  readonly stopRequested: Promise<void>;
}

export const CONTROLLER_COMPONENT = "mesh-tailor-controller";

/**
 * Runs the controller until STOPREQUESTED or until leadership is lost: probes and metrics, the
 * mirrors (kept warm on every replica), leader election, and reconciles under the leader's term.
 * Returns the exit code: 0 after a requested stop (the lease released once nothing acts any
 * more), 1 after leadership was lost (the process must exit and start again as a candidate).
 */
export async function runController(settings: ControllerSettings): Promise<number> {
  const { logger } = settings;
  // Unique per process, so a restarted pod with the same name is a new holder.
  const identity = settings.identity ?? `${hostname()}_${randomUUID().slice(0, 8)}`;
  // Assigned once the client exists; the metrics' collect callback and the policy's reload read it late.
  const holder: { controller?: NamespaceController } = {};
  const metrics = new ControllerMetrics(() => holder.controller?.managedCount() ?? 0);
  // The identity in the User-Agent lets an audit log tell the replicas apart.
  const api = await KubeApi.connect(settings.context, { userAgent: `${CONTROLLER_COMPONENT} (${identity})` });
  // --config FILE (the mounted ConfigMap, in a cluster), else the installed ConfigMap read through
  // the API, as every other cluster command reads it, else the built-in policy.
  const policy = await PolicySource.open({
    file: settings.configFile,
    installed: { where: `ConfigMap ${settings.ownNamespace}/${POLICY_CONFIGMAP.name}`, read: () => readInstalledPolicyText(api, settings.ownNamespace) },
    logger,
    pollMs: settings.pollMs,
    registry: metrics.registry,
    reloads: metrics.reloads,
    onReload: () => holder.controller?.policyChanged(),
  });
  const running = new NamespaceController({
    api,
    logger,
    metrics,
    policy: () => policy.current,
    events: new EventRecorder(api, CONTROLLER_COMPONENT, identity, logger),
    // Also refused by the mesh-tailor-controller admission policy (manifests/controller.yaml).
    excluded: ["kube-system", "kube-public", "kube-node-lease", "istio-system", settings.ownNamespace],
  });
  holder.controller = running;
  let stopping = false;
  let lost!: (why: string) => void;
  const leadershipLost = new Promise<string>((resolve) => (lost = resolve));
  let acting: Promise<void> | undefined;
  const elector = new LeaderElector({
    api,
    logger,
    identity,
    namespace: settings.ownNamespace,
    name: settings.leaseName,
    ...settings.lease,
    onStartedLeading: (term) => {
      metrics.leader.set(1);
      term.signal.addEventListener("abort", () => metrics.leader.set(0), { once: true });
      acting = running.lead(term).catch((error: unknown) => logger.error({ err: { message: (error as Error).message } }, "reconcile loop failed"));
    },
    onStoppedLeading: (why) => lost(why),
  });
  const probes = await startProbeServer({
    port: settings.port,
    host: settings.host,
    app: createProbeApp({ registry: metrics.registry, notReadyReasons: () => [...(stopping ? ["shutting down"] : []), ...running.staleness()] }),
    registry: metrics.registry,
    logger,
  });
  running.start();
  void elector.start();
  logger.info(
    { port: probes.port, identity, lease: `${settings.ownNamespace}/${settings.leaseName}`, policyRevision: policy.current.revision },
    "mesh-tailor controller started",
  );
  const outcome = await Promise.race([
    settings.stopRequested.then(() => ({ kind: "stop" as const })),
    leadershipLost.then((why) => ({ kind: "lost" as const, why })),
  ]);
  stopping = true;
  // Stop acting before the lease is released, so that no two replicas ever act at once: the
  // term ends (every reconcile's requests are cancelled), then the workers are waited for.
  await elector.stop();
  await running.stop();
  await acting;
  if (outcome.kind === "stop") await elector.release();
  policy.close();
  await probes.close();
  api.close();
  if (outcome.kind === "stop") {
    logger.info("controller stopped");
    return 0;
  }
  logger.error({ why: outcome.why }, "controller stopped: leadership lost, exiting so the pod restarts as a candidate");
  return 1;
}
