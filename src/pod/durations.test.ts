import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { goBool, goDurationSeconds } from "./durations.js";

describe("drain setting syntaxes, as Istio reads them", () => {
  it("a duration is a Go duration: pilot-agent's env, and ProxyConfig's through the legacy jsonpb", () => {
    assert.equal(goDurationSeconds("5s"), 5);
    assert.equal(goDurationSeconds("1m30s"), 90);
    assert.equal(goDurationSeconds("1.5h"), 5400);
    assert.equal(goDurationSeconds("500ms"), 0.5);
    assert.equal(goDurationSeconds("2µs"), 2e-6);
    assert.equal(goDurationSeconds("0"), 0);
    assert.equal(goDurationSeconds("-10s"), 0, "negative: no sleep");
    assert.equal(goDurationSeconds("2562047h"), 2562047 * 3600, "the longest Go holds");
    for (const refused of ["5", "soon", "", "s", "5 s", "1d", "5s ", "x".repeat(100), "2562048h", 30, undefined])
      assert.equal(goDurationSeconds(refused), undefined, String(refused));
  });

  it("an env boolean is a Go boolean", () => {
    for (const yes of ["1", "t", "T", "true", "TRUE", "True"]) assert.equal(goBool(yes), true);
    for (const no of ["0", "f", "F", "false", "FALSE", "False"]) assert.equal(goBool(no), false);
    // proxyMetadata holds strings: a YAML boolean is not one.
    for (const refused of ["yes", "on", "", "tRuE", 1, true, false]) assert.equal(goBool(refused), undefined, String(refused));
  });
});
