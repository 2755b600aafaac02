import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from "@kubernetes/client-node";
import { CLI } from "../../fixtures/serve-process.js";
import type { ControlPlane } from "./control-plane.js";
import { serviceAccountKubeconfig } from "./controller-process.js";

export interface HookJobRunner {
  /** One line per pod run: "<job> <exit code>". */
  readonly runs: string[];
  stop(): Promise<void>;
}

/**
 * Plays the kubelet for the chart's certificate hook Jobs, which kwok's simulated nodes cannot
 * run: for each of their pods that kwok reports Running, it runs the container's command (the
 * mesh-tailor CLI) here, authenticated as the pod's ServiceAccount, then reports the pod
 * Succeeded or Failed, so the Job controller and helm see the real outcome.
 */
export function runHookJobs(controlPlane: ControlPlane, dir: string, namespace: string): HookJobRunner {
  const core = controlPlane.kubeConfig.makeApiClient(CoreV1Api);
  const handled = new Set<string>();
  const runs: string[] = [];
  let stopped = false;
  const runPod = async (pod: V1Pod): Promise<void> => {
    const container = pod.spec!.containers[0]!;
    const workDir = mkdtempSync(join(dir, "hook-"));
    const args = (container.args ?? []).map((arg) => (arg.startsWith("--out=") ? `--out=${join(workDir, "certs")}` : arg));
    const kubeconfig = await serviceAccountKubeconfig({ controlPlane, dir }, namespace, pod.spec!.serviceAccountName!);
    const code = await new Promise<number>((resolve) =>
      execFile(process.execPath, [CLI, ...args], { env: { ...process.env, KUBECONFIG: kubeconfig } }, (error) =>
        resolve(error ? (typeof error.code === "number" ? error.code : 1) : 0),
      ),
    );
    const job = pod.metadata!.labels?.["job-name"] ?? pod.metadata!.name!;
    runs.push(`${job} ${code}`);
    const now = new Date().toISOString();
    const status = {
      phase: code === 0 ? "Succeeded" : "Failed",
      conditions: [{ type: "Ready", status: "False", lastTransitionTime: now }],
      containerStatuses: [
        {
          name: container.name,
          image: container.image,
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: code, reason: code === 0 ? "Completed" : "Error", startedAt: now, finishedAt: now } },
        },
      ],
    };
    await core.patchNamespacedPodStatus({ namespace, name: pod.metadata!.name!, body: { status } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
  };
  const loop = (async () => {
    while (!stopped) {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: "app.kubernetes.io/component=certs" }).catch(() => ({ items: [] as V1Pod[] }));
      for (const pod of pods.items) {
        const uid = pod.metadata!.uid!;
        if (handled.has(uid) || pod.status?.phase !== "Running" || pod.metadata?.deletionTimestamp) continue;
        handled.add(uid);
        await runPod(pod).catch((error: unknown) => runs.push(`${pod.metadata!.name} error ${(error as Error).message}`));
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  })();
  return {
    runs,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
