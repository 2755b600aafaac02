import { sleep } from "../kube/backoff.js";
import type { KubeApi } from "../kube/client.js";
import { isTransient } from "../kube/errors.js";
import type { KubeObject } from "../kube/object.js";
import { readPatiently, RESTARTABLE, startRestart, pathOf, type Api, type RolloutTarget } from "./rollout-restart.js";
import { readStuckCause } from "./rollout-cause.js";
import { CollectionReads } from "./rollout-collections.js";
import type { RolloutOrder } from "./rollout-order.js";
import { rolloutProgress } from "./rollout-progress.js";
import type { StatusReport, WorkloadStatus } from "./status.js";

export type { RolloutTarget };

export interface RolloutPlan {
  readonly restart: readonly RolloutTarget[];
  /** Stale workloads a restart cannot fix (the policy cannot take effect on them), and why. */
  readonly refused: readonly { readonly target: RolloutTarget; readonly reason: string }[];
  /** Stale workloads rollout does not restart, and why. */
  readonly skipped: readonly { readonly target: RolloutTarget; readonly reason: string }[];
}

export type RolloutEvent =
  | { readonly event: "started"; readonly target: RolloutTarget; readonly following?: boolean }
  | { readonly event: "progress"; readonly target: RolloutTarget; readonly message: string }
  | { readonly event: "done"; readonly target: RolloutTarget; readonly seconds: number }
  | { readonly event: "failed"; readonly target: RolloutTarget; readonly reason: string };

export interface RolloutOptions {
  /** After a workload is rolled out: why its pods are not as the policy wants them, if they are not. */
  readonly verify?: ((workload: KubeObject) => Promise<string | undefined>) | undefined;
  readonly maxInFlight: number;
  /** Wait between starting one workload and the next. */
  readonly pauseMs: number;
  /** How long one workload may take to roll out, brief API outages included. */
  readonly timeoutMs: number;
  readonly pollMs?: number;
  /** One namespace at a time, or as many workloads as allowed (rollout-order.ts). */
  readonly order?: RolloutOrder | undefined;
  /**
   * How many workloads of each kind each namespace holds, as status read them (collectionSizesOf
   * in status.ts): what a LIST of that collection returns. Without it, each workload is read on
   * its own.
   */
  readonly collectionSizes?: ReadonlyMap<string, number> | undefined;
}

export interface RolloutResult {
  readonly done: readonly RolloutTarget[];
  readonly failed: readonly { readonly target: RolloutTarget; readonly reason: string }[];
  /** Started but not finished when an interrupt stopped the run. */
  readonly inFlight: readonly RolloutTarget[];
  readonly notStarted: readonly RolloutTarget[];
  readonly interrupted: boolean;
}

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
  const refused: { target: RolloutTarget; reason: string }[] = [];
  const skipped: { target: RolloutTarget; reason: string }[] = [];
  for (const row of report.workloads) {
    if (!all && row.stale === 0) continue;
    // Only what a rollout would restart can stop it: Jobs and bare pods are listed, never restarted.
    if (!RESTARTABLE[row.kind]) skipped.push({ target: targetOf(row), reason: SKIP_REASONS[row.kind] ?? `not restarted: ${row.kind}` });
    else if (row.problem) refused.push({ target: targetOf(row), reason: `${row.service ? `service ${row.service}: ` : ""}${row.problem}` });
    else restart.push(targetOf(row));
  }
  return { restart, refused, skipped };
}

interface InFlight {
  readonly startedMs: number;
  lastMessage: string;
  /** When it may be read next: later after a read that failed for a moment, or that showed no progress. */
  nextReadMs: number;
  failedReads: number;
  /** Reads in a row that showed the same progress. */
  unchangedReads: number;
}

/**
 * When a workload whose last UNCHANGEDREADS reads showed the same progress is read next: POLL
 * doubled for each such read, at most 8 × POLL, and never past its deadline, so that its timeout
 * is reported when due. A wave the cluster is slow to bring up then costs the API server a read
 * per workload every few seconds, not every second, while a workload that moves is read at once
 * again.
 */
export const nextReadAfterStandstill = (nowMs: number, pollMs: number, unchangedReads: number, deadlineMs: number): number =>
  Math.min(nowMs + pollMs * 2 ** Math.min(unchangedReads, 3), deadlineMs);

/**
 * Restarts the plan's workloads as `kubectl rollout restart` does (a new restartedAt annotation
 * on the pod template), at most maxInFlight at a time, each waited for as `kubectl rollout
 * status` waits: read every second, less often while its progress stands still, and by one LIST
 * of a namespace's workloads where several are in flight there (rollout-collections.ts). An API
 * server away for a moment is waited for, within each workload's timeout; a restart never goes
 * out twice (rollout-restart.ts). The first failure or timeout stops new starts; what is in
 * flight is still waited for. By namespace, a namespace's first workload starts once the last
 * one's are all done. SIGNAL (Ctrl-C) stops new starts and returns at once.
 */
export async function runRollout(
  api: Api & Pick<KubeApi, "list">,
  plan: RolloutPlan,
  options: RolloutOptions,
  onEvent: (event: RolloutEvent) => void,
  signal?: AbortSignal,
): Promise<RolloutResult> {
  const queue = [...plan.restart];
  const inFlight = new Map<RolloutTarget, InFlight>();
  const done: RolloutTarget[] = [];
  const failed: { target: RolloutTarget; reason: string }[] = [];
  let stopStarting = false;
  let lastStartMs = 0;
  const pollMs = options.pollMs ?? 1_000;
  const collections = new CollectionReads(api, options.collectionSizes, pollMs);
  const fail = (target: RolloutTarget, reason: string) => {
    failed.push({ target, reason });
    stopStarting = true;
    onEvent({ event: "failed", target, reason });
  };

  while (!signal?.aborted && (inFlight.size > 0 || (!stopStarting && queue.length > 0))) {
    while (
      !stopStarting &&
      !signal?.aborted &&
      inFlight.size < options.maxInFlight &&
      queue.length > 0 &&
      Date.now() - lastStartMs >= options.pauseMs &&
      (options.order !== "namespace" || [...inFlight.keys()].every((t) => t.namespace === queue[0]!.namespace))
    ) {
      const target = queue.shift()!;
      lastStartMs = Date.now();
      try {
        const start = await startRestart(api, target, lastStartMs + options.timeoutMs, signal);
        inFlight.set(target, { startedMs: lastStartMs, lastMessage: "", nextReadMs: 0, failedReads: 0, unchangedReads: 0 });
        onEvent({ event: "started", target, ...(start.kind === "following" ? { following: true } : {}) });
      } catch (error) {
        if (signal?.aborted) {
          queue.unshift(target);
          break;
        }
        fail(target, `restart refused: ${(error as Error).message}`);
      }
    }
    await sleep(pollMs, signal);
    if (signal?.aborted) break;
    const listed = await collections.read(inFlight, signal);
    if (signal?.aborted) break;
    for (const [target, state] of inFlight) {
      const now = Date.now();
      const fromList = listed.get(target);
      if (!fromList && now < state.nextReadMs) continue;
      const deadlineMs = state.startedMs + options.timeoutMs;
      let progress: ReturnType<typeof rolloutProgress>;
      let workload: KubeObject;
      try {
        workload = fromList?.object ?? (await readPatiently(api, pathOf(target), Math.min(deadlineMs, now + pollMs), signal));
        progress = rolloutProgress(target.kind, workload);
        state.failedReads = 0;
      } catch (error) {
        if (signal?.aborted) break;
        if (isTransient(error) && Date.now() < deadlineMs) {
          // The API server is away: keep waiting for the workload, with backoff, within its timeout.
          state.failedReads += 1;
          state.nextReadMs = Date.now() + Math.min(1_000 * 2 ** Math.min(state.failedReads - 1, 3), 8_000);
          const message = `cannot read it, retrying: ${(error as Error).message}`;
          if (message !== state.lastMessage) onEvent({ event: "progress", target, message: (state.lastMessage = message) });
          continue;
        }
        inFlight.delete(target);
        fail(
          target,
          `${Date.now() >= deadlineMs ? `timed out after ${Math.round(options.timeoutMs / 1000)} s; the last read failed` : "cannot read it"}: ${(error as Error).message}`,
        );
        continue;
      }
      if (progress.state === "done") {
        inFlight.delete(target);
        // Done means tailored: pods that came up untailored fail it, with why.
        const untailored = await options
          .verify?.(workload)
          .catch((error: unknown) => `rolled out, but its pods could not be read: ${(error as Error).message}`);
        if (untailored) {
          fail(target, untailored);
          continue;
        }
        done.push(target);
        onEvent({ event: "done", target, seconds: Math.round((Date.now() - state.startedMs) / 100) / 10 });
      } else if (progress.state === "failed" || (fromList?.readAtMs ?? Date.now()) > deadlineMs) {
        // Timed out only by a read made past its deadline: a LIST's answer may be seconds old here.
        inFlight.delete(target);
        // What the API shows of why: a webhook that refused the pods, pods that cannot be scheduled.
        const cause = await readStuckCause(api, target.kind, workload);
        const what = progress.state === "failed" ? progress.message : `timed out after ${Math.round(options.timeoutMs / 1000)} s: ${progress.message}`;
        fail(target, cause ? `${cause} (${what})` : what);
      } else if (progress.message !== state.lastMessage) {
        state.lastMessage = progress.message;
        state.unchangedReads = 0;
        onEvent({ event: "progress", target, message: progress.message });
      } else {
        state.unchangedReads += 1;
        state.nextReadMs = nextReadAfterStandstill(Date.now(), pollMs, state.unchangedReads, deadlineMs);
      }
    }
  }
  return { done, failed, inFlight: [...inFlight.keys()], notStarted: queue, interrupted: Boolean(signal?.aborted) };
}
