import * as k8s from "../keys/kubernetes.js";
import { sleep } from "../kube/backoff.js";
import { STRATEGIC_MERGE_PATCH, type KubeApi } from "../kube/client.js";
import { isTransient } from "../kube/errors.js";
import type { KubeObject } from "../kube/object.js";
import { rolloutProgress } from "./rollout-progress.js";

export interface RolloutTarget {
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
}

export const RESTARTABLE: Readonly<Record<string, string>> = { Deployment: "/apis/apps/v1", StatefulSet: "/apis/apps/v1", DaemonSet: "/apis/apps/v1" };
/** The namespace's collection of T's kind: what one LIST of its workloads reads. */
export const collectionPathOf = (t: { readonly namespace: string; readonly kind: string }): string =>
  `${RESTARTABLE[t.kind]}/namespaces/${t.namespace}/${t.kind.toLowerCase()}s`;
export const pathOf = (t: RolloutTarget): string => `${collectionPathOf(t)}/${t.name}`;

/** The restartedAt a workload's pod template carries (kubectl rollout restart's annotation), if any. */
export const restartedAtOf = (workload: KubeObject): string | undefined =>
  ((workload["spec"] as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined)?.template?.metadata?.annotations ?? {})[
    k8s.RESTARTED_AT
  ];

export type Api = Pick<KubeApi, "request" | "get">;

/** Retries a read while the API server is briefly away, until DEADLINE (wall clock, ms) or SIGNAL. */
export async function readPatiently(api: Api, path: string, deadlineMs: number, signal?: AbortSignal): Promise<KubeObject> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await api.get(path, undefined, { signal, timeoutMs: Math.max(1_000, Math.min(30_000, deadlineMs - Date.now())) });
    } catch (error) {
      if (!isTransient(error) || Date.now() >= deadlineMs || signal?.aborted) throw error;
      await sleep(Math.min(500 * 2 ** Math.min(attempt - 1, 4), 8_000), signal);
    }
  }
}

export type Start = { readonly kind: "restarted"; readonly restartedAt: string } | { readonly kind: "following"; readonly restartedAt: string | undefined };

/**
 * Starts TARGET's restart, once. A workload still rolling out (its last restart, or a deploy) is
 * followed, not restarted again: its new pods are being created now, under the current policy,
 * and a rerun after an interruption picks up where the first run was. A restart request
 * that got no answer may have gone through: the workload is read back, and the restart is sent
 * again only if the annotation it wrote is not there. Transient errors are retried until
 * DEADLINE; anything else is thrown.
 */
export async function startRestart(
  api: Api,
  target: RolloutTarget,
  deadlineMs: number,
  signal?: AbortSignal,
  now: () => Date = () => new Date(),
): Promise<Start> {
  const path = pathOf(target);
  const current = await readPatiently(api, path, deadlineMs, signal);
  const previous = restartedAtOf(current);
  if (rolloutProgress(target.kind, current).state === "progressing") return { kind: "following", restartedAt: previous };
  // Seconds, as kubectl writes it; one second later than the last one, so that it always changes the template.
  let stamp = now();
  if (previous && Date.parse(previous) >= stamp.getTime()) stamp = new Date(Date.parse(previous) + 1_000);
  const restartedAt = stamp.toISOString().replace(/\.\d{3}Z$/, "Z");
  const patch = { spec: { template: { metadata: { annotations: { [k8s.RESTARTED_AT]: restartedAt } } } } };
  for (let attempt = 1; ; attempt++) {
    try {
      await api.request("PATCH", path, {
        body: patch,
        contentType: STRATEGIC_MERGE_PATCH,
        signal,
        timeoutMs: Math.max(1_000, Math.min(30_000, deadlineMs - Date.now())),
      });
      return { kind: "restarted", restartedAt };
    } catch (error) {
      if (!isTransient(error) || Date.now() >= deadlineMs || signal?.aborted) throw error;
      // No answer: it may have been applied. Never restart twice: read it back first.
      const after = await readPatiently(api, path, deadlineMs, signal);
      if (restartedAtOf(after) === restartedAt) return { kind: "restarted", restartedAt };
      await sleep(Math.min(500 * 2 ** Math.min(attempt - 1, 4), 8_000), signal);
    }
  }
}
