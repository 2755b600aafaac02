import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runMutation } from "../../test/fixtures/context.js";
import { appPod, jobPod, policyWith } from "../../test/fixtures/pods.js";
import * as istio from "../keys/istio.js";
import type { Pod } from "../pod/types.js";
import { locality } from "./locality.js";

const policy = policyWith();
const label = (r: ReturnType<typeof runMutation>) => r.pod.metadata?.labels?.[istio.LOCALITY];
const pinned = (pod: Pod, selector: Record<string, string>): Pod => ({ ...pod, spec: { ...pod.spec, nodeSelector: selector } });
const REGION = "topology.kubernetes.io/region";
const ZONE = "topology.kubernetes.io/zone";

describe("locality: istio-locality for pods with no Service", () => {
  it("labels a CronJob's pod from the region and zone its nodeSelector pins", () => {
    const result = runMutation(locality, pinned(jobPod(), { [REGION]: "us-east1", [ZONE]: "us-east1-b" }), policy);
    assert.equal(label(result), "us-east1.us-east1-b");
    assert.equal(result.inForce, true);
  });

  it("adds the subzone when one is pinned", () => {
    const pod = pinned(jobPod(), { [REGION]: "r", [ZONE]: "z", "topology.istio.io/subzone": "rack7" });
    assert.equal(label(runMutation(locality, pod, policy)), "r.z.rack7");
  });

  it("reads a required node affinity that pins a single value", () => {
    const pod = jobPod();
    pod.spec.affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: REGION, operator: "In", values: ["eu-west1"] },
                { key: ZONE, operator: "In", values: ["eu-west1-c"] },
              ],
            },
          ],
        },
      },
    };
    assert.equal(label(runMutation(locality, pod, policy)), "eu-west1.eu-west1-c");
  });

  it("does not guess when affinity allows several zones; falls back to locality.default", () => {
    const pod = jobPod();
    pod.spec.affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: REGION, operator: "In", values: ["r"] },
                { key: ZONE, operator: "In", values: ["a", "b"] },
              ],
            },
          ],
        },
      },
    };
    assert.equal(label(runMutation(locality, pod, policy)), undefined);
    assert.equal(label(runMutation(locality, pod, policyWith({ locality: { default: "r.a" } }))), "r.a");
  });

  it("labels a bare pod (no controller) from locality.default", () => {
    const bare: Pod = { metadata: { name: "debug" }, spec: { containers: [{ name: "sh" }] } };
    assert.equal(label(runMutation(locality, bare, policyWith({ locality: { default: "region1.zone2" } }))), "region1.zone2");
  });

  it("adds nothing when there is neither a pinned locality nor a default", () => {
    const pod = jobPod();
    assert.equal(runMutation(locality, pod, policy).pod, pod);
  });

  it("leaves Deployment pods, which have a Service, alone", () => {
    const pod = pinned(appPod(), { [REGION]: "r", [ZONE]: "z" });
    assert.equal(runMutation(locality, pod, policy).pod, pod);
  });

  it("keeps a locality the pod already carries, under either label", () => {
    for (const key of [istio.LOCALITY, "topology.istio.io/locality"]) {
      const pod = pinned(jobPod(), { [REGION]: "r", [ZONE]: "z" });
      pod.metadata!.labels![key] = "elsewhere.zone";
      assert.equal(runMutation(locality, pod, policy).pod, pod);
    }
  });

  it("refuses a value that is not a valid label value, with a warning", () => {
    const result = runMutation(locality, pinned(jobPod(), { [REGION]: "us east", [ZONE]: "z" }), policy);
    assert.equal(label(result), undefined);
    assert.match(result.warnings[0]!, /not a valid label value/);
  });

  it("can be turned off", () => {
    const pod = pinned(jobPod(), { [REGION]: "r", [ZONE]: "z" });
    assert.equal(runMutation(locality, pod, policyWith({ locality: { enabled: false } })).pod, pod);
  });
});
