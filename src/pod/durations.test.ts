import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { goBool, goDurationSeconds, protoDurationSeconds } from "./durations.js";

describe("drain setting syntaxes, as Istio reads them", () => {
  it("a ProxyConfig duration is protobuf JSON: seconds with an s", () => {
    assert.equal(protoDurationSeconds("30s"), 30);
    assert.equal(protoDurationSeconds("2.5s"), 2.5);
    assert.equal(protoDurationSeconds("0s"), 0);
    for (const refused of ["1m", "30", "-5s", "1h30m", "", " 5s", 30, undefined, "5.1234567890s"])
      assert.equal(protoDurationSeconds(refused), undefined, String(refused));
  });

  it("an env duration is a Go duration", () => {
    assert.equal(goDurationSeconds("5s"), 5);
    assert.equal(goDurationSeconds("1m30s"), 90);
    assert.equal(goDurationSeconds("1.5h"), 5400);
    assert.equal(goDurationSeconds("500ms"), 0.5);
    assert.equal(goDurationSeconds("2µs"), 2e-6);
    assert.equal(goDurationSeconds("0"), 0);
    assert.equal(goDurationSeconds("-10s"), 0, "negative: no sleep");
    for (const refused of ["5", "soon", "", "s", "5 s", "1d", "5s ", "x".repeat(100)]) assert.equal(goDurationSeconds(refused), undefined, refused);
  });

  it("an env boolean is a Go boolean", () => {
    for (const yes of ["1", "t", "T", "true", "TRUE", "True", true]) assert.equal(goBool(yes), true);
    for (const no of ["0", "f", "F", "false", "FALSE", "False", false]) assert.equal(goBool(no), false);
    for (const refused of ["yes", "on", "", "tRuE", 1]) assert.equal(goBool(refused), undefined, String(refused));
  });
});
