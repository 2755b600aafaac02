import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ISTIO_SIDECAR_INJECTOR } from "../../test/fixtures/istio-webhooks.js";
import { installNamespaceOf, istioInjectsEveryPod, type MutatingWebhookConfiguration } from "./webhook-configurations.js";

const namespace = (name: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels } });

describe("Istio's namespace-wide injection, by its webhooks' real selectors", () => {
  it("injects every pod under istio-injection=enabled or istio.io/rev=default, none in a plain or disabled namespace", () => {
    const configurations = [ISTIO_SIDECAR_INJECTOR];
    assert.equal(istioInjectsEveryPod(configurations, namespace("a", { "istio-injection": "enabled" })), true);
    assert.equal(istioInjectsEveryPod(configurations, namespace("b", { "istio.io/rev": "default" })), true);
    assert.equal(istioInjectsEveryPod(configurations, namespace("c")), false, "only pods labelled inject=true");
    assert.equal(istioInjectsEveryPod(configurations, namespace("d", { "istio-injection": "disabled" })), false);
    assert.equal(istioInjectsEveryPod(configurations, namespace("e", { "istio.io/rev": "canary" })), false, "no canary revision is installed");
  });

  it("follows a revision tag's configuration, and nothing when Istio is not installed", () => {
    const tag: MutatingWebhookConfiguration = {
      metadata: { name: "istio-revision-tag-stable", labels: { "istio.io/tag": "stable", "istio.io/rev": "canary" } },
      webhooks: [
        {
          name: "rev.namespace.sidecar-injector.istio.io",
          namespaceSelector: { matchExpressions: [{ key: "istio.io/rev", operator: "In", values: ["stable"] }] },
          objectSelector: { matchExpressions: [{ key: "sidecar.istio.io/inject", operator: "NotIn", values: ["false"] }] },
        },
      ],
    };
    assert.equal(istioInjectsEveryPod([ISTIO_SIDECAR_INJECTOR, tag], namespace("f", { "istio.io/rev": "stable" })), true);
    assert.equal(istioInjectsEveryPod([], namespace("g", { "istio-injection": "enabled" })), false);
  });

  it("reads mesh-tailor's namespace from its webhook's Service, mesh-tailor otherwise", () => {
    assert.equal(
      installNamespaceOf({
        metadata: { name: "00-mesh-tailor" },
        webhooks: [{ name: "pods.mesh-tailor.io", clientConfig: { service: { name: "mesh-tailor", namespace: "platform" } } }],
      }),
      "platform",
    );
    assert.equal(
      installNamespaceOf({
        metadata: { name: "00-mesh-tailor" },
        webhooks: [{ name: "pods.mesh-tailor.io", clientConfig: { url: "https://127.0.0.1:8443/mutate" } }],
      }),
      "mesh-tailor",
    );
    assert.equal(installNamespaceOf(undefined), "mesh-tailor");
  });
});
