import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { istioLabelWarning, istioNamespaceLabels } from "./namespace-labels.js";

const ns = (labels: Record<string, string>) => ({ metadata: { name: "shop", labels } });

describe("what Istio's namespace labels do to a tailored namespace", () => {
  it("says nothing where there is no Istio label", () => {
    assert.equal(istioLabelWarning(ns({ "mesh-tailor.io/enabled": "true" })), undefined);
    assert.deepEqual(istioNamespaceLabels(ns({})), []);
  });

  it("says that a namespace webhook injects and a service's revision is ignored", () => {
    const injection = istioLabelWarning(ns({ "istio-injection": "enabled" }))!;
    assert.match(
      injection,
      /istio-injection=enabled: Istio's namespace webhook \(default revision\) injects every pod not labelled sidecar.istio.io\/inject=false/,
    );
    assert.match(injection, /istio.io\/rev it writes for a service's revision is ignored here/);
    assert.match(istioLabelWarning(ns({ "istio.io/rev": "canary" }))!, /istio.io\/rev=canary: Istio's namespace webhook of revision "canary" injects/);
    assert.deepEqual(istioNamespaceLabels(ns({ "istio-injection": "enabled", "istio.io/rev": "canary" })), ["istio-injection=enabled", "istio.io/rev=canary"]);
  });

  it("says that istio-injection=disabled keeps every pod out, selected or not", () => {
    assert.match(istioLabelWarning(ns({ "istio-injection": "disabled" }))!, /no pod is injected at all, selected or not/);
  });
});
