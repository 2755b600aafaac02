import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkNamespacePattern, unbounded } from "./pattern-check.js";
import { DEFAULT_NAMESPACE_PATTERN } from "./pattern-verdicts.js";

// The pattern of issue 22: one pod in a 36-character namespace held the webhook for 8 s.
const EXPONENTIAL = "^(?<base>([a-z0-9]+-?)+)--(?<branch>box-[a-z0-9]+)$";

const problemOf = (source: string): string => checkNamespacePattern(source).problem ?? "(accepted)";

describe("the namespace pattern check", () => {
  it("proves the default pattern linear", () => {
    assert.deepEqual(checkNamespacePattern(DEFAULT_NAMESPACE_PATTERN), { problem: undefined, timedOut: false });
  });

  it("refuses an exponential pattern, naming the cost, a name that shows it, where, and the linear form", () => {
    const problem = problemOf(EXPONENTIAL);
    assert.match(problem, /^backtracks in exponential time on names such as '.+'\.repeat\(\d+\).* \(at \[a-z0-9\]\): /);
    assert.match(problem, /would stall the webhook and the controller/);
    assert.match(problem, /\(\[a-z0-9-\]\+\?\) instead of a repeated group \(\(\[a-z0-9\]\+-\?\)\+\)/);
  });

  it("refuses a polynomial pattern of degree 3, and accepts degree 2 (at most 63² steps on a namespace)", () => {
    assert.match(problemOf("^(?<base>.*)-(?<branch>.*)-(?<c>.*)-x$"), /^backtracks in polynomial time of degree 3 on names such as/);
    assert.equal(checkNamespacePattern("^(?<base>[a-z-]*)(?<branch>[a-z]*-x)$").problem, undefined);
  });

  it("accepts linear patterns with both named groups, bounded repetitions included", () => {
    for (const source of [
      "^(?<base>[a-z0-9-]+?)--(?<branch>box-[0-9]+)$",
      "^(?<base>(?:[a-z0-9]+-)*[a-z0-9]+)--(?<branch>box-[a-z0-9]+)$",
      "^(?<base>[a-z0-9]{1,40}?)--(?<branch>box-[a-z0-9]{1,20})$",
      "^(?<branch>b[0-9]{5})-(?<base>[a-z{}]+)$",
    ])
      assert.equal(checkNamespacePattern(source).problem, undefined, source);
  });

  it("judges counted repetitions as unbounded, where recheck alone would call nested ones safe", () => {
    // V8 took 111 s on 20 characters for this one.
    assert.match(
      problemOf("^(?<base>(?:(?:[a-z]{1,30}-?){1,30}){1,30})(?<branch>x)$"),
      /^backtracks in exponential time .* counted repetitions judged as unbounded/,
    );
    assert.equal(unbounded("^a{2}b{1,20}?c{3,}[x{1,2}]\\{1,2}d{e}$"), "^a{2,}b{1,}?c{3,}[x{1,2}]\\{1,2}d{e}$");
  });

  it("refuses what it cannot prove: look-arounds and back-references", () => {
    assert.match(problemOf("^(?<base>(?!kube-)[a-z0-9-]+?)--(?<branch>box-[a-z0-9]+)$"), /uses a look-ahead assertion, which cannot be proven/);
    assert.match(problemOf("^(?<base>[a-z]+)-(?<branch>\\k<base>)$"), /uses a named back-reference/);
  });

  it("runs recheck in this thread whatever the environment asks, and leaves the environment as it was", () => {
    const saved = { ...process.env };
    // Were these obeyed, the check would start a worker running recheck's native binary, which is not there.
    Object.assign(process.env, { RECHECK_BACKEND: "native", RECHECK_SYNC_BACKEND: "synckit", RECHECK_BIN: "/nonexistent/recheck" });
    try {
      assert.equal(checkNamespacePattern("^(?<base>[a-z]+)--(?<branch>env-[0-9]+)$").problem, undefined);
      assert.equal(process.env["RECHECK_BACKEND"], "native");
      assert.equal(process.env["RECHECK_SYNC_BACKEND"], "synckit");
    } finally {
      for (const name of ["RECHECK_BACKEND", "RECHECK_SYNC_BACKEND", "RECHECK_BIN"]) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  });
});
