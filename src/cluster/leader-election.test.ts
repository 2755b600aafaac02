import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { leaseAction, microTime } from "./leader-election.js";

describe("leader election decisions", () => {
  const held = { holderIdentity: "b", leaseDurationSeconds: 15, renewTime: "2026-11-23T10:00:00.000000Z" };

  it("takes a lease nobody holds, or one released on purpose", () => {
    assert.equal(leaseAction(undefined, "a", undefined, 0).action, "acquire");
    assert.equal(leaseAction({ ...held, holderIdentity: "" }, "a", undefined, 0).action, "acquire");
  });

  it("renews its own lease", () => {
    assert.equal(leaseAction({ ...held, holderIdentity: "a" }, "a", undefined, 0).action, "renew");
  });

  it("waits while another holder keeps renewing, judged by its own clock", () => {
    const first = leaseAction(held, "a", undefined, 1_000);
    assert.equal(first.action, "wait");
    // The same record 16 s later by this clock: expired, whatever renewTime says.
    assert.equal(leaseAction(held, "a", first.observation, 17_001).action, "acquire");
    // A renewal (new renewTime) restarts the count.
    const renewed = leaseAction({ ...held, renewTime: "2026-11-23T10:00:14.000000Z" }, "a", first.observation, 15_000);
    assert.equal(renewed.action, "wait");
    assert.equal(leaseAction({ ...held, renewTime: "2026-11-23T10:00:14.000000Z" }, "a", renewed.observation, 29_000).action, "wait");
  });

  it("writes MicroTime with microseconds", () => {
    assert.equal(microTime(Date.UTC(2026, 10, 23, 10, 0, 0, 123)), "2026-11-23T10:00:00.123000Z");
  });
});
