import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { selectorMatches, selectorQuery } from "./label-selector.js";

describe("label selectors", () => {
  // Istio's own object webhook: pods labelled for injection, in namespaces with no Istio label.
  const objectWebhook = {
    namespace: {
      matchExpressions: [
        { key: "istio-injection", operator: "DoesNotExist" },
        { key: "istio.io/rev", operator: "DoesNotExist" },
      ],
    },
    object: {
      matchExpressions: [
        { key: "sidecar.istio.io/inject", operator: "In", values: ["true"] },
        { key: "istio.io/rev", operator: "DoesNotExist" },
      ],
    },
  };

  it("evaluates In, NotIn, Exists and DoesNotExist as Kubernetes does", () => {
    assert.equal(selectorMatches(objectWebhook.object, { "sidecar.istio.io/inject": "true" }), true);
    assert.equal(selectorMatches(objectWebhook.object, { "sidecar.istio.io/inject": "true", "istio.io/rev": "canary" }), false);
    assert.equal(selectorMatches(objectWebhook.object, {}), false);
    assert.equal(selectorMatches(objectWebhook.namespace, { "istio-injection": "enabled" }), false);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "sidecar.istio.io/inject", operator: "NotIn", values: ["false"] }] }, {}), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "a", operator: "Exists" }] }, { a: "" }), true);
    assert.equal(selectorMatches({ matchLabels: { app: "reviews" } }, { app: "ratings" }), false);
    assert.equal(selectorMatches(undefined, {}), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "a", operator: "Bogus" }] }, { a: "b" }), false);
  });

  it("writes a LIST labelSelector query", () => {
    assert.equal(
      selectorQuery({
        matchLabels: { app: "reviews" },
        matchExpressions: [
          { key: "tier", operator: "In", values: ["web", "api"] },
          { key: "canary", operator: "DoesNotExist" },
        ],
      }),
      "app=reviews,tier in (web,api),!canary",
    );
  });
});
