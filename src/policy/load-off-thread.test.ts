import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadPolicyOffThread } from "./load-off-thread.js";
import { PolicyError } from "./load.js";
import { knownVerdicts, remember } from "./pattern-verdicts.js";

const HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n";
const withPattern = (source: string) => `${HEADER}sandbox:\n  namespacePattern: ${JSON.stringify(source)}\n`;

describe("loadPolicyOffThread", () => {
  it("refuses a backtracking namespace pattern, and brings the worker's verdict back for the next load", async () => {
    const evil = "^(?<base>([a-z0-9]+-?)+)--(?<branch>box-[a-z0-9]+)$";
    await assert.rejects(loadPolicyOffThread(withPattern(evil), "policy.yaml"), (error: unknown) => {
      assert.ok(error instanceof PolicyError);
      assert.match(error.problems[0]!, /^sandbox\.namespacePattern: backtracks in exponential time/);
      return true;
    });
    assert.match(knownVerdicts().find(([source]) => source === evil)?.[1] ?? "(not remembered)", /^backtracks in exponential time/);
  });

  it("hands the worker the verdicts this thread knows, so it does not judge a pattern again", async () => {
    const source = "^(?<base>[a-z]+)--(?<branch>known-[0-9]+)$";
    remember([[source, "judged before"]]);
    await assert.rejects(loadPolicyOffThread(withPattern(source), "policy.yaml"), /sandbox\.namespacePattern: judged before/);
    const safe = "^(?<base>[a-z]+)--(?<branch>fresh-[0-9]+)$";
    assert.equal((await loadPolicyOffThread(withPattern(safe), "policy.yaml")).sandboxGroups("shop--fresh-1")?.["base"], "shop");
    assert.ok(knownVerdicts().some(([known, problem]) => known === safe && problem === undefined));
  });
});
