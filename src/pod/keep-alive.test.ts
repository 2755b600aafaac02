import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { declaredKeepAlive } from "./keep-alive.js";
import type { Container } from "./types.js";

const app = (fields: Record<string, unknown>): Container => ({ name: "app", image: "app:1", ...fields });

describe("a container's declared keep-alive", () => {
  it("reads a literal env value, the last of that name, as a Go duration or a number in the unit named", () => {
    const env = app({
      env: [
        { name: "KEEP_ALIVE_TIMEOUT", value: "65" },
        { name: "OTHER", value: "1" },
        { name: "KEEP_ALIVE_TIMEOUT", value: "5s" },
      ],
    });
    assert.deepEqual(declaredKeepAlive(env, { env: "KEEP_ALIVE_TIMEOUT", unit: "s" }), { kind: "declared", seconds: 5, from: "env KEEP_ALIVE_TIMEOUT" });
    const ms = app({ env: [{ name: "KEEP_ALIVE_MS", value: "5000" }] });
    assert.deepEqual(declaredKeepAlive(ms, { env: "KEEP_ALIVE_MS", unit: "ms" }), { kind: "declared", seconds: 5, from: "env KEEP_ALIVE_MS" });
    assert.deepEqual(declaredKeepAlive(ms, { env: "KEEP_ALIVE_MS", unit: "s" }), { kind: "declared", seconds: 5000, from: "env KEEP_ALIVE_MS" });
  });

  it("reads a flag's value in the command and args, as --flag=V or --flag V, the last one winning", () => {
    const both = app({ command: ["server", "--keep-alive-timeout=30s"], args: ["--port", "8080", "--keep-alive-timeout", "4.5"] });
    assert.deepEqual(declaredKeepAlive(both, { arg: "--keep-alive-timeout", unit: "s" }), {
      kind: "declared",
      seconds: 4.5,
      from: "flag --keep-alive-timeout",
    });
    const equals = app({ args: ["--keep-alive-timeout=1m"] });
    assert.deepEqual(declaredKeepAlive(equals, { arg: "--keep-alive-timeout", unit: "s" }), {
      kind: "declared",
      seconds: 60,
      from: "flag --keep-alive-timeout",
    });
    // A longer flag with the same start is another flag.
    assert.equal(declaredKeepAlive(app({ args: ["--keep-alive-timeout-max=5s"] }), { arg: "--keep-alive-timeout", unit: "s" }), undefined);
    // A flag with nothing after it declares nothing.
    assert.equal(declaredKeepAlive(app({ args: ["--keep-alive-timeout"] }), { arg: "--keep-alive-timeout", unit: "s" }), undefined);
  });

  it("declares nothing where the value is known only once the pod runs, and says which value it cannot read", () => {
    const fromSecret = app({ env: [{ name: "KA", valueFrom: { configMapKeyRef: { name: "c", key: "k" } } }] });
    assert.equal(declaredKeepAlive(fromSecret, { env: "KA", unit: "s" }), undefined);
    assert.equal(declaredKeepAlive(app({ env: [{ name: "KA", value: "$(BASE)" }] }), { env: "KA", unit: "s" }), undefined);
    assert.equal(declaredKeepAlive(app({ args: ["--ka=$(KA)"] }), { arg: "--ka", unit: "s" }), undefined);
    assert.equal(declaredKeepAlive(app({}), { env: "KA", unit: "s" }), undefined);
    assert.equal(declaredKeepAlive(app({ env: "not a list" }), { env: "KA", unit: "s" }), undefined);
    assert.deepEqual(declaredKeepAlive(app({ env: [{ name: "KA", value: "five" }] }), { env: "KA", unit: "s" }), {
      kind: "unreadable",
      value: "five",
      from: "env KA",
    });
    assert.deepEqual(declaredKeepAlive(app({ env: [{ name: "KA", value: "-5s" }] }), { env: "KA", unit: "s" }), {
      kind: "unreadable",
      value: "-5s",
      from: "env KA",
    });
  });
});
