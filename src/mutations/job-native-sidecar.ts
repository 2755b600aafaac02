import { annotationOf, withAnnotation } from "../pod/edit.js";
import { unchanged, type Mutation } from "./types.js";

// Per-pod switch to a native sidecar (istio/api annotation.SidecarNativeSidecar, Istio >= 1.19).
export const NATIVE_SIDECAR_KEY = "sidecar.istio.io/nativeSidecar";

/**
 * Jobs that finish: a classic proxy keeps running after the Job's container exits, so the pod
 * never completes. As a native sidecar the kubelet stops it once the app containers are done.
 */
export const jobNativeSidecar: Mutation = {
  name: "native-job",
  apply(pod, { decision, workload, policy }) {
    const isJob = workload?.kind === "Job" || workload?.kind === "CronJob";
    if (!policy.policy.jobs.nativeSidecar || !decision.selected || !isJob) return unchanged(pod);
    const existing = annotationOf(pod, NATIVE_SIDECAR_KEY);
    if (existing === undefined) return { pod: withAnnotation(pod, NATIVE_SIDECAR_KEY, "true"), warnings: [], inForce: true };
    return unchanged(pod, existing === "true");
  },
};
