// What `explain` can be asked about: light, so the CLI checks its usage before loading the rest.

// Where each kind lives in the API, and where its pod template is.
export const KINDS: Record<string, { kind: string; path: string; template: readonly string[] }> = {
  pod: { kind: "Pod", path: "/api/v1", template: [] },
  deployment: { kind: "Deployment", path: "/apis/apps/v1", template: ["spec", "template"] },
  statefulset: { kind: "StatefulSet", path: "/apis/apps/v1", template: ["spec", "template"] },
  daemonset: { kind: "DaemonSet", path: "/apis/apps/v1", template: ["spec", "template"] },
  replicaset: { kind: "ReplicaSet", path: "/apis/apps/v1", template: ["spec", "template"] },
  job: { kind: "Job", path: "/apis/batch/v1", template: ["spec", "template"] },
  cronjob: { kind: "CronJob", path: "/apis/batch/v1", template: ["spec", "jobTemplate", "spec", "template"] },
};
const ALIASES: Record<string, string> = {
  pods: "pod",
  po: "pod",
  deploy: "deployment",
  deployments: "deployment",
  sts: "statefulset",
  statefulsets: "statefulset",
  ds: "daemonset",
  daemonsets: "daemonset",
  rs: "replicaset",
  replicasets: "replicaset",
  jobs: "job",
  cj: "cronjob",
  cronjobs: "cronjob",
};

/** The kinds `explain` takes, for its help and errors. */
export const EXPLAINABLE_KINDS = Object.keys(KINDS);

/** What to explain: KIND/NAME, or a NAME alone (a pod, else a workload of that name). */
export interface Target {
  readonly kind: string;
  readonly name: string;
  /** Named without a kind: a pod of that name, else the first workload of that name (KINDS_FOR_A_NAME). */
  readonly bare?: boolean;
}

/** The kinds a bare NAME is looked for in, after pods, in order. */
export const KINDS_FOR_A_NAME = ["deployment", "statefulset", "daemonset", "cronjob", "job"] as const;

/** "kind/name" or a bare name, as kubectl takes it; undefined for a kind it does not know. */
export function parseTarget(target: string): Target | undefined {
  const slash = target.indexOf("/");
  if (slash === -1) return target ? { kind: "pod", name: target, bare: true } : undefined;
  const given = target.slice(0, slash).toLowerCase();
  const kind = KINDS[given] ? given : ALIASES[given];
  const name = target.slice(slash + 1);
  return kind && name ? { kind, name } : undefined;
}
