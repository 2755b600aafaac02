import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runMutation } from "../../test/fixtures/context.js";
import { appPod, policyWith } from "../../test/fixtures/pods.js";
import * as meshTailor from "../keys/mesh-tailor.js";
import { hostPassthrough } from "./host-passthrough.js";

const withMode = (mode: string, inject = true) => policyWith({ services: [{ name: "reviews", inject, hostPassthrough: mode }] });
const label = (r: ReturnType<typeof runMutation>) => r.pod.metadata?.labels?.[meshTailor.HOST_PASSTHROUGH];

describe("host-passthrough: opting pods into the Lua filter", () => {
  for (const mode of ["outbound", "inbound", "both"]) {
    it(`labels a selected service's pods "${mode}"`, () => assert.equal(label(runMutation(hostPassthrough, appPod(), withMode(mode))), mode));
  }
  it("adds nothing for none, or for a service kept out of the mesh", () => {
    assert.equal(label(runMutation(hostPassthrough, appPod(), withMode("none"))), undefined);
    assert.equal(label(runMutation(hostPassthrough, appPod(), withMode("both", false))), undefined);
  });
  it("keeps a different value the user set, with a warning", () => {
    const result = runMutation(hostPassthrough, appPod({ labels: { [meshTailor.HOST_PASSTHROUGH]: "inbound" } }), withMode("both"));
    assert.equal(label(result), "inbound");
    assert.equal(result.warnings.length, 1);
  });
});
