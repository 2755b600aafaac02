import * as k8s from "../keys/kubernetes.js";
import { labelOf } from "./edit.js";
import type { Pod } from "./types.js";

export interface Workload {
  readonly kind: string;
  readonly name: string;
}

// The CronJob controller names each Job `<cronjob>-<scheduled time in Unix minutes>`
// (kubernetes pkg/controller/cronjob, getJobName). Eight or more digits keeps a Job that someone
// named "migrate-2" from being taken for a CronJob run.
const CRONJOB_RUN_SUFFIX = /^(.+)-\d{8,}$/;
// The Deployment controller appends "-<pod-template-hash>"; the hash uses the alphabet of
// apimachinery's rand.SafeEncodeString.
const REPLICASET_HASH_SUFFIX = /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{1,10}$/;

/** The workload that owns a pod, resolved through the controllers Kubernetes puts in between. */
export function workloadOf(pod: Pod): Workload | undefined {
  const owners = pod.metadata?.ownerReferences ?? [];
  const owner = owners.find((o) => o.controller === true) ?? (owners.length === 1 ? owners[0] : undefined);
  if (!owner) return undefined;
  if (owner.kind === "ReplicaSet") {
    const hash = labelOf(pod, k8s.POD_TEMPLATE_HASH);
    if (hash && owner.name.endsWith(`-${hash}`)) return { kind: "Deployment", name: owner.name.slice(0, -hash.length - 1) };
    const match = REPLICASET_HASH_SUFFIX.exec(owner.name);
    return match ? { kind: "Deployment", name: match[1]! } : { kind: "ReplicaSet", name: owner.name };
  }
  if (owner.kind === "Job") {
    const match = CRONJOB_RUN_SUFFIX.exec(owner.name);
    return match ? { kind: "CronJob", name: match[1]! } : { kind: "Job", name: owner.name };
  }
  return { kind: owner.kind, name: owner.name };
}

/** Owned by nothing, or by a Job (CronJob runs included): workloads that usually have no Service. */
export function isServiceLess(workload: Workload | undefined): boolean {
  return workload === undefined || workload.kind === "Job" || workload.kind === "CronJob";
}
