import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BodyBudget } from "./body-budget.js";

describe("the body budget", () => {
  it("gives each address at most its share, leaves the rest to the others, and releases once", () => {
    const budget = new BodyBudget(100, 40);
    const first = budget.reserve("flood", 30);
    assert.equal(typeof first, "function");
    assert.equal(budget.reserve("flood", 20), "address", "one address stops at its share");
    const apiserver = budget.reserve("apiserver", 40);
    assert.equal(typeof apiserver, "function", "the others still have theirs");
    assert.equal(budget.reserve("third", 40), "total", "and the whole is bounded too");
    (first as () => void)();
    (first as () => void)();
    assert.equal(budget.heldBy("flood"), 0);
    assert.equal(budget.heldBy(), 40, "a second release frees nothing more");
  });
});
