import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runMutation } from "../../test/fixtures/context.js";
import { appPod, jobPod, policyWith } from "../../test/fixtures/pods.js";
import * as istio from "../keys/istio.js";
import { jobNativeSidecar } from "./job-native-sidecar.js";

const on = policyWith({ defaults: { inject: true }, jobs: { nativeSidecar: true } });
const annotation = (r: ReturnType<typeof runMutation>) => r.pod.metadata?.annotations?.[istio.NATIVE_SIDECAR];

describe("job-native-sidecar: Jobs that finish", () => {
  it("opts a selected CronJob or Job pod into a native sidecar", () => {
    assert.equal(annotation(runMutation(jobNativeSidecar, jobPod(), on)), "true");
    assert.equal(annotation(runMutation(jobNativeSidecar, jobPod("migrate-2"), on)), "true");
  });
  it("leaves Deployment pods, unselected pods, and the switch off alone", () => {
    assert.equal(annotation(runMutation(jobNativeSidecar, appPod(), on)), undefined);
    assert.equal(annotation(runMutation(jobNativeSidecar, jobPod(), policyWith({ jobs: { nativeSidecar: true } }))), undefined);
    assert.equal(annotation(runMutation(jobNativeSidecar, jobPod(), policyWith({ defaults: { inject: true } }))), undefined);
  });
  it("keeps the user's own choice", () => {
    const pod = jobPod();
    pod.metadata!.annotations = { [istio.NATIVE_SIDECAR]: "false" };
    const result = runMutation(jobNativeSidecar, pod, on);
    assert.equal(result.pod, pod);
    assert.equal(result.inForce, false);
  });
});
