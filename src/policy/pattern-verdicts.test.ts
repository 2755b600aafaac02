import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_NAMESPACE_PATTERN, knownVerdicts, namespacePatternProblem, remember } from "./pattern-verdicts.js";

describe("namespace pattern verdicts", () => {
  it("know the default pattern linear without asking recheck", () => {
    assert.ok(knownVerdicts().some(([source, problem]) => source === DEFAULT_NAMESPACE_PATTERN && problem === undefined));
  });

  it("are remembered by source, once reached", () => {
    const source = "^(?<base>([a-z0-9]+-?)+)--(?<branch>box-[a-z0-9]+)$";
    const problem = namespacePatternProblem(source);
    assert.match(problem ?? "(accepted)", /^backtracks in exponential time/);
    assert.deepEqual(
      knownVerdicts().find(([known]) => known === source),
      [source, problem],
    );
    remember([["^(?<branch>remembered)$", "a verdict from another thread"]]);
    assert.equal(namespacePatternProblem("^(?<branch>remembered)$"), "a verdict from another thread");
  });

  it("are kept within a bound that drops the oldest and keeps the default's", () => {
    remember(Array.from({ length: 200 }, (_, i) => [`^(?<branch>x${i})$`, undefined] as [string, undefined]));
    const verdicts = knownVerdicts();
    assert.equal(verdicts.length, 64);
    assert.ok(verdicts.some(([source]) => source === DEFAULT_NAMESPACE_PATTERN));
    assert.ok(
      verdicts.some(([source]) => source === "^(?<branch>x199)$"),
      "the newest are kept",
    );
    assert.ok(!verdicts.some(([source]) => source === "^(?<branch>x0)$"), "the oldest are not");
  });
});
