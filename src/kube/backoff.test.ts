import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backoffDelay } from "./backoff.js";

describe("backoff between retries", () => {
  it("doubles from the base up to the cap, with jitter in the upper half", () => {
    assert.equal(backoffDelay(0), 0);
    assert.equal(
      backoffDelay(1, 500, 30_000, () => 1),
      500,
    );
    assert.equal(
      backoffDelay(1, 500, 30_000, () => 0),
      250,
    );
    assert.equal(
      backoffDelay(4, 500, 30_000, () => 1),
      4_000,
    );
    assert.equal(
      backoffDelay(50, 500, 30_000, () => 1),
      30_000,
    );
    assert.equal(
      backoffDelay(50, 500, 30_000, () => 0),
      15_000,
    );
  });
});
