import * as istio from "../keys/istio.js";
import { setUnlessUserSet } from "./edits.js";
import { unchanged, type Mutation } from "./types.js";

/**
 * Jobs that finish: a classic proxy keeps running after the Job's container exits, so the pod
 * never completes. As a native sidecar the kubelet stops it once the app containers are done.
 * A value the user set is kept without a warning: "false" is a deliberate choice.
 */
export const jobNativeSidecar: Mutation = {
  name: "native-job",
  sidecarOnly: true,
  enabledBy: (policy) => policy.jobs.nativeSidecar,
  apply(pod, { workload }) {
    const isJob = workload?.kind === "Job" || workload?.kind === "CronJob";
    return isJob ? setUnlessUserSet(pod, "annotations", istio.NATIVE_SIDECAR, "true", false) : unchanged(pod);
  },
};
