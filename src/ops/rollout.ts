import * as k8s from "../keys/kubernetes.js";
import type { KubeObject } from "../kube/object.js";
import type { KubeApi } from "../kube/client.js";
import { sleep } from "../kube/backoff.js";
import { rolloutProgress } from "./rollout-progress.js";
import type { StatusReport, WorkloadStatus } from "./status.js";

export interface RolloutTarget {
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
}

export interface RolloutPlan {
  readonly restart: readonly RolloutTarget[];
  /** Stale workloads rollout does not restart, and why. */
  readonly skipped: readonly { readonly target: RolloutTarget; readonly reason: string }[];
}

export type RolloutEvent =
  | { readonly event: "started"; readonly target: RolloutTarget }
  | { readonly event: "progress"; readonly target: RolloutTarget; readonly message: string }
  | { readonly event: "done"; readonly target: RolloutTarget; readonly seconds: number }
  | { readonly event: "failed"; readonly target: RolloutTarget; readonly reason: string };

export interface RolloutOptions {
  readonly maxInFlight: number;
  /** Wait between starting one workload and the next. */
  readonly pauseMs: number;
  /** How long one workload may take to roll out. */
  readonly timeoutMs: number;
  readonly pollMs?: number;
}

export interface RolloutResult {
  readonly done: readonly RolloutTarget[];
  readonly failed: readonly { readonly target: RolloutTarget; readonly reason: string }[];
  /** Started but not finished when an interrupt stopped the run. */
  readonly inFlight: readonly RolloutTarget[];
  readonly notStarted: readonly RolloutTarget[];
  readonly interrupted: boolean;
}

const RESTARTABLE: Record<string, string> = { Deployment: "/apis/apps/v1", StatefulSet: "/apis/apps/v1", DaemonSet: "/apis/apps/v1" };
const SKIP_REASONS: Record<string, string> = {
  CronJob: "not restarted: its next run is admitted under the current policy",
  Job: "not restarted: a Job runs to completion; its next run (or a re-created Job) gets the current policy",
  ReplicaSet: "not restarted: a ReplicaSet no Deployment owns; scale it down and up, or delete its pods",
  Pod: "not deleted: bare pods come back only if you create them again; delete and re-create them yourself",
};

const targetOf = (row: WorkloadStatus): RolloutTarget => ({ namespace: row.namespace, kind: row.kind, name: row.name });
export const describeTarget = (t: RolloutTarget): string => `${t.kind.toLowerCase()}/${t.name} -n ${t.namespace}`;

/** What a rollout restarts: the stale workloads (or, with ALL, every one shown), Deployments, StatefulSets and DaemonSets only. */
export function planRollout(report: StatusReport, all = false): RolloutPlan {
  const restart: RolloutTarget[] = [];
  const skipped: { target: RolloutTarget; reason: string }[] = [];
  for (const row of report.workloads) {
    if (!all && row.stale === 0) continue;
    if (RESTARTABLE[row.kind]) restart.push(targetOf(row));
    else skipped.push({ target: targetOf(row), reason: SKIP_REASONS[row.kind] ?? `not restarted: ${row.kind}` });
  }
  return { restart, skipped };
}

const pathOf = (t: RolloutTarget): string => `${RESTARTABLE[t.kind]}/namespaces/${t.namespace}/${t.kind.toLowerCase()}s/${t.name}`;

/**
 * Restarts the plan's workloads as `kubectl rollout restart` does (a new restartedAt annotation
 * on the pod template), at most maxInFlight at a time, each waited for as `kubectl rollout
 * status` waits. The first failure or timeout stops new starts; what is in flight is still
 * waited for. SIGNAL (Ctrl-C) stops new starts and returns at once.
 */
export async function runRollout(api: Pick<KubeApi, "request" | "get">, plan: RolloutPlan, options: RolloutOptions, onEvent: (event: RolloutEvent) => void, signal?: AbortSignal): Promise<RolloutResult> {
  const queue = [...plan.restart];
  const inFlight = new Map<RolloutTarget, { startedMs: number; lastMessage: string }>();
  const done: RolloutTarget[] = [];
  const failed: { target: RolloutTarget; reason: string }[] = [];
  let stopStarting = false;
  let lastStartMs = 0;
  const pollMs = options.pollMs ?? 1_000;
  const fail = (target: RolloutTarget, reason: string) => {
    failed.push({ target, reason });
    stopStarting = true;
    onEvent({ event: "failed", target, reason });
  };

  while (!signal?.aborted && (inFlight.size > 0 || (!stopStarting && queue.length > 0))) {
    while (!stopStarting && !signal?.aborted && inFlight.size < options.maxInFlight && queue.length > 0 && Date.now() - lastStartMs >= options.pauseMs) {
      const target = queue.shift()!;
      lastStartMs = Date.now();
      try {
        const patch = { spec: { template: { metadata: { annotations: { [k8s.RESTARTED_AT]: new Date().toISOString().replace(/\.\d{3}Z$/, "Z") } } } } };
        await api.request("PATCH", pathOf(target), { body: patch, contentType: "application/strategic-merge-patch+json" });
        inFlight.set(target, { startedMs: Date.now(), lastMessage: "" });
        onEvent({ event: "started", target });
      } catch (error) {
        fail(target, `restart refused: ${(error as Error).message}`);
      }
    }
    await sleep(pollMs, signal);
    if (signal?.aborted) break;
    for (const [target, state] of inFlight) {
      let workload: KubeObject;
      try {
        workload = await api.get(pathOf(target));
      } catch (error) {
        inFlight.delete(target);
        fail(target, `cannot read it: ${(error as Error).message}`);
        continue;
      }
      const progress = rolloutProgress(target.kind, workload);
      if (progress.state === "done") {
        inFlight.delete(target);
        done.push(target);
        onEvent({ event: "done", target, seconds: Math.round((Date.now() - state.startedMs) / 100) / 10 });
      } else if (progress.state === "failed") {
        inFlight.delete(target);
        fail(target, progress.message);
      } else if (Date.now() - state.startedMs > options.timeoutMs) {
        inFlight.delete(target);
        fail(target, `timed out after ${Math.round(options.timeoutMs / 1000)} s: ${progress.message}`);
      } else if (progress.message !== state.lastMessage) {
        state.lastMessage = progress.message;
        onEvent({ event: "progress", target, message: progress.message });
      }
    }
  }
  return { done, failed, inFlight: [...inFlight.keys()], notStarted: queue, interrupted: Boolean(signal?.aborted) };
}
