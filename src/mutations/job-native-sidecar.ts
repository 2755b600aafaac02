import { annotationOf, withAnnotation } from "../pod/edit.js";
import { unchanged, type Mutation } from "./types.js";
import * as istio from "../keys/istio.js";

/**
 * Jobs that finish: a classic proxy keeps running after the Job's container exits, so the pod
 * never completes. As a native sidecar the kubelet stops it once the app containers are done.
 */
export const jobNativeSidecar: Mutation = {
  name: "native-job",
  apply(pod, { decision, workload, policy }) {
    const isJob = workload?.kind === "Job" || workload?.kind === "CronJob";
    if (!policy.policy.jobs.nativeSidecar || !decision.selected || !isJob) return unchanged(pod);
    const existing = annotationOf(pod, istio.NATIVE_SIDECAR);
    if (existing === undefined) return { pod: withAnnotation(pod, istio.NATIVE_SIDECAR, "true"), warnings: [], inForce: true };
    return unchanged(pod, existing === "true");
  },
};
