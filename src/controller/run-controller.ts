import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { KubeApi } from "../cluster/api.js";
import { EventRecorder } from "../cluster/events.js";
import { LeaderElector } from "../cluster/leader-election.js";
import { builtInPolicy } from "../policy/load.js";
import { PolicyReloader } from "../policy/policy-reloader.js";
import { readPolicyFile } from "../policy/read-file.js";
import { startHealthServer } from "./health-server.js";
import { ControllerMetrics } from "./metrics.js";
import { NamespaceController } from "./namespace-controller.js";

export interface ControllerSettings {
  readonly configFile: string | undefined;
  readonly context: string | undefined;
  readonly port: number;
  readonly host: string | undefined;
  /** The namespace mesh-tailor runs in: its Lease lives there, and it is never enabled. */
  readonly ownNamespace: string;
  readonly leaseName: string;
  readonly identity: string | undefined;
  readonly pollMs: number;
  readonly logger: Logger;
  /** Resolves when the process should stop (SIGTERM). */
  readonly stopRequested: Promise<void>;
}

export const CONTROLLER_COMPONENT = "mesh-tailor-controller";

/** Runs the controller until STOPREQUESTED: health server, mirrors, leader election, reconciles. */
export async function runController(settings: ControllerSettings): Promise<number> {
  const { logger } = settings;
  const initial = settings.configFile ? await readPolicyFile(settings.configFile) : builtInPolicy();
  const api = await KubeApi.connect(settings.context);
  // Unique per process, so a restarted pod with the same name is a new holder.
  const identity = settings.identity ?? `${hostname()}_${randomUUID().slice(0, 8)}`;
  let controller!: NamespaceController;
  const metrics = new ControllerMetrics(() => controller.managedCount());
  const reloader = settings.configFile
    ? new PolicyReloader(settings.configFile, initial, {
        logger,
        pollMs: settings.pollMs,
        onReload: () => {
          metrics.reloads.labels("policy", "success").inc();
          controller.policyChanged();
        },
        onRefused: () => metrics.reloads.labels("policy", "failure").inc(),
      })
    : undefined;
  controller = new NamespaceController({
    api,
    logger,
    metrics,
    policy: () => reloader?.current ?? initial,
    events: new EventRecorder(api, CONTROLLER_COMPONENT, identity, logger),
    excluded: ["kube-system", settings.ownNamespace],
  });
  let stopping = false;
  let lost!: () => void;
  const leadershipLost = new Promise<void>((resolve) => (lost = resolve));
  const elector = new LeaderElector({
    api,
    logger,
    identity,
    namespace: settings.ownNamespace,
    name: settings.leaseName,
    onStartedLeading: () => {
      metrics.leader.set(1);
      controller.startActing();
    },
    onStoppedLeading: () => {
      metrics.leader.set(0);
      lost();
    },
  });
  const health = await startHealthServer({
    port: settings.port,
    host: settings.host,
    registry: metrics.registry,
    notReadyReasons: () => [
      ...(stopping ? ["shutting down"] : []),
      ...(controller.namespaces.synced ? [] : ["namespaces not listed yet"]),
      ...(controller.sidecars.synced ? [] : ["Sidecars (networking.istio.io/v1) not listed yet"]),
    ],
  });
  reloader?.start();
  controller.start();
  elector.start();
  logger.info({ port: health.port, identity, lease: `${settings.ownNamespace}/${settings.leaseName}`, policyRevision: initial.revision }, "mesh-tailor controller started");

  const outcome = await Promise.race([settings.stopRequested.then(() => "stop" as const), leadershipLost.then(() => "lost" as const)]);
  stopping = true;
  // Stop acting before the lease is released, so that no two replicas ever act at once.
  await controller.stop();
  if (outcome === "stop") await elector.stop();
  reloader?.close();
  await health.close();
  api.close();
  logger.info({ outcome }, outcome === "stop" ? "controller stopped" : "controller stopped: leadership lost, exiting so the pod restarts as a follower");
  return outcome === "stop" ? 0 : 1;
}
