import type { KubeObject } from "../kube/object.js";

export type Progress = { readonly state: "done" | "progressing" | "failed"; readonly message: string };

interface WorkloadStatusFields {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  desiredNumberScheduled?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

/**
 * Whether a restart of WORKLOAD has finished, by the rules `kubectl rollout status` applies
 * (kubectl/pkg/polymorphichelpers/rollout_status.go): the controller has seen the latest
 * generation, every replica runs the new template, and the old ones are gone and the new ones
 * available. A Deployment past its progress deadline has failed.
 */
export function rolloutProgress(kind: string, workload: KubeObject): Progress {
  const spec = (workload["spec"] ?? {}) as { replicas?: number; updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } } };
  const status = (workload["status"] ?? {}) as WorkloadStatusFields;
  const generation = workload.metadata.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation) return { state: "progressing", message: "waiting for the controller to see the restart" };
  const wanted = spec.replicas ?? 1;
  switch (kind) {
    case "Deployment": {
      const deadline = status.conditions?.find((c) => c.type === "Progressing");
      if (deadline?.reason === "ProgressDeadlineExceeded") return { state: "failed", message: `progress deadline exceeded: ${deadline.message ?? ""}`.trim() };
      const updated = status.updatedReplicas ?? 0;
      if (updated < wanted) return { state: "progressing", message: `${updated} of ${wanted} new replicas updated` };
      if ((status.replicas ?? 0) > updated) return { state: "progressing", message: `${(status.replicas ?? 0) - updated} old replicas pending termination` };
      if ((status.availableReplicas ?? 0) < updated)
        return { state: "progressing", message: `${status.availableReplicas ?? 0} of ${updated} updated replicas available` };
      return { state: "done", message: `${updated} replicas updated and available` };
    }
    case "StatefulSet": {
      if (spec.updateStrategy?.type === "OnDelete") return { state: "done", message: "updateStrategy OnDelete: its pods change only when deleted" };
      const partition = spec.updateStrategy?.rollingUpdate?.partition ?? 0;
      const ready = status.readyReplicas ?? 0;
      if (ready < wanted) return { state: "progressing", message: `${ready} of ${wanted} replicas ready` };
      if (partition > 0) {
        const updated = status.updatedReplicas ?? 0;
        return updated < wanted - partition
          ? { state: "progressing", message: `${updated} of ${wanted - partition} replicas past the partition updated` }
          : { state: "done", message: `partitioned roll-out: ${updated} replicas updated` };
      }
      if (status.updateRevision !== status.currentRevision)
        return { state: "progressing", message: `${status.updatedReplicas ?? 0} of ${wanted} replicas updated` };
      return { state: "done", message: `${ready} replicas at revision ${status.currentRevision ?? "?"}` };
    }
    case "DaemonSet": {
      const desired = status.desiredNumberScheduled ?? 0;
      const updated = status.updatedNumberScheduled ?? 0;
      if (updated < desired) return { state: "progressing", message: `${updated} of ${desired} updated pods scheduled` };
      const available = status.numberAvailable ?? 0;
      if (available < desired) return { state: "progressing", message: `${available} of ${desired} updated pods available` };
      return { state: "done", message: `${desired} pods updated and available` };
    }
    default:
      return { state: "failed", message: `${kind} cannot be restarted` };
  }
}
