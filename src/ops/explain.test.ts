import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseTarget } from "./explain-target.js";
import type { Explanation } from "./explain.js";

describe("explain's target", () => {
  it("takes a bare name (a pod, else the workload of that name), KIND/NAME and kubectl's short names", () => {
    assert.deepEqual(parseTarget("reviews-7d4b9-x2"), { kind: "pod", name: "reviews-7d4b9-x2", bare: true });
    assert.deepEqual(parseTarget("deployment/reviews"), { kind: "deployment", name: "reviews" });
    assert.deepEqual(parseTarget("deploy/reviews"), { kind: "deployment", name: "reviews" });
    assert.deepEqual(parseTarget("Deployment/reviews"), { kind: "deployment", name: "reviews" });
    assert.deepEqual(parseTarget("sts/db"), { kind: "statefulset", name: "db" });
    assert.deepEqual(parseTarget("cj/nightly"), { kind: "cronjob", name: "nightly" });
  });

  it("refuses a kind it cannot explain, or no name", () => {
    assert.equal(parseTarget("service/reviews"), undefined);
    assert.equal(parseTarget("deployment/"), undefined);
    assert.equal(parseTarget(""), undefined);
  });
});

/** An explanation of Deployment/reviews in shop, with OVERRIDES. */
const explanation = (overrides: Partial<Explanation>): Explanation => ({
  target: "Deployment/reviews",
  namespace: { name: "shop", enabled: true, istioLabels: [] },
  policy: { origin: "built-in", revision: "abc" },
  service: "reviews",
  workload: "Deployment/reviews",
  entry: undefined,
  decision: { selected: true, reason: "because" },
  meshTailorWebhookCalled: true,
  injectors: [],
  sets: {},
  customizations: ["inject"],
  connection: undefined,
  warnings: [],
  pods: { total: 0, withProxy: 0, stale: [] },
  ...overrides,
});

describe("explain's text", () => {
  it("never breaks a line inside a value (a ProxyConfig's YAML is quoted)", async () => {
    const { renderExplanation } = await import("../cli/explain-command.js");
    const text = renderExplanation(
      explanation({
        sets: { "proxy.istio.io/config": "holdApplicationUntilProxyStarts: true\nconcurrency: 2\n", "sidecar.istio.io/inject": "true" },
        customizations: ["inject", "hold"],
        connection: "HTTP/1.0, idle timeout 90s",
      }),
    );
    const line = text.split("\n").find((l) => l.includes("sets before Istio"))!;
    assert.ok(line.includes('proxy.istio.io/config="holdApplicationUntilProxyStarts: true\\nconcurrency: 2\\n"'), line);
    assert.ok(line.includes("sidecar.istio.io/inject=true"));
    assert.ok(!text.split("\n").some((l) => l.startsWith("concurrency")), "no line starts inside a value");
    assert.ok(text.includes("\n  connection:          HTTP/1.0, idle timeout 90s\n"), "the connection switches shown");
  });

  it("says which dataplane a pod gets, and each ambient gate with its verdict", async () => {
    const { renderExplanation } = await import("../cli/explain-command.js");
    const text = renderExplanation(
      explanation({
        decision: { selected: true, dataplane: "ambient", reason: "a services entry matches it (inject: true, dataplane: ambient)" },
        ambientGates: [
          { gate: "ztunnel on its pods' nodes", problem: undefined },
          { gate: "waypoint shop/w", problem: "its waypoint, Gateway shop/w, is not Programmed yet" },
        ],
      }),
    );
    assert.match(text, /decision: {12}INTO the mesh \(ambient: no sidecar, its traffic through the node's ztunnel\), because/);
    assert.match(text, /\n {2}ambient gate: {8}ztunnel on its pods' nodes: passes\n/);
    assert.match(text, /\n {2}ambient gate: {8}waypoint shop\/w: FAILS: its waypoint, Gateway shop\/w, is not Programmed yet\n/);
  });
});
