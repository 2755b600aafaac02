// Structural types for the parts of a Pod that mesh-tailor reads or writes. Every other field is
// carried through untouched: the JSON patch is computed against the original object.

export type StringMap = Record<string, string>;

export interface ExecAction {
  command?: string[];
}

export interface LifecycleHandler {
  exec?: ExecAction;
  sleep?: { seconds: number };
  httpGet?: unknown;
  tcpSocket?: unknown;
  [field: string]: unknown;
}

export interface Lifecycle {
  postStart?: LifecycleHandler;
  preStop?: LifecycleHandler;
  [field: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  restartPolicy?: string;
  lifecycle?: Lifecycle;
  [field: string]: unknown;
}

export interface OwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  controller?: boolean;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: StringMap;
  annotations?: StringMap;
  ownerReferences?: OwnerReference[];
  [field: string]: unknown;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  hostNetwork?: boolean;
  nodeSelector?: StringMap;
  terminationGracePeriodSeconds?: number;
  affinity?: {
    nodeAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: {
        nodeSelectorTerms?: { matchExpressions?: NodeSelectorRequirement[]; [field: string]: unknown }[];
      };
      [field: string]: unknown;
    };
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/** A Pod, or the metadata and spec of a pod template: both are mutated the same way. */
export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec: PodSpec;
  [field: string]: unknown;
}

export function isPodLike(value: unknown): value is Pod {
  if (value === null || typeof value !== "object") return false;
  const spec = (value as { spec?: unknown }).spec;
  return spec !== null && typeof spec === "object" && Array.isArray((spec as { containers?: unknown }).containers);
}
