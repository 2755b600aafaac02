import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  injectedAsSidecar,
  injectorConfigMapName,
  kubeletMinor,
  nativeSidecarOf,
  parseInjectorValues,
  proxyImageOf,
  sameProxyBuild,
  withIstiodEnv,
} from "./revision-injection.js";

// The values key as Helm renders it (toPrettyJson): a tag may come out as a number, an env value as a boolean.
const values = (global: Record<string, unknown>, env: Record<string, unknown> = {}) => JSON.stringify({ global, pilot: { env }, revision: "canary" });

describe("what a revision injects, from its injector ConfigMap", () => {
  it("names the ConfigMap as istiod reads it", () => {
    assert.equal(injectorConfigMapName("default"), "istio-sidecar-injector");
    assert.equal(injectorConfigMapName("1-31"), "istio-sidecar-injector-1-31");
  });

  it("builds the proxy image from hub, image and tag, the type replacing one the tag has", () => {
    const injection = parseInjectorValues("canary", values({ hub: "docker.io/istio", tag: 1.31, proxy: {} }))!;
    assert.equal(proxyImageOf(injection, {}), "docker.io/istio/proxyv2:1.31");
    const distroless = parseInjectorValues(
      "canary",
      values({ hub: "docker.io/istio", tag: "1.31.0-distroless", variant: "debug", proxy: { image: "proxyv2" } }),
    )!;
    assert.equal(proxyImageOf(distroless, {}), "docker.io/istio/proxyv2:1.31.0-debug");
    assert.equal(proxyImageOf(distroless, { "sidecar.istio.io/proxyImageType": "default" }), "docker.io/istio/proxyv2:1.31.0");
    // A full image in values, or in the pod's annotation, is taken as it is.
    assert.equal(proxyImageOf(parseInjectorValues("x", values({ proxy: { image: "registry.example/proxy:9" } }))!, {}), "registry.example/proxy:9");
    assert.equal(proxyImageOf(injection, { "sidecar.istio.io/proxyImage": "registry.example/own:1" }), "registry.example/own:1");
    // No hub or tag: nothing to compare with.
    assert.equal(proxyImageOf(parseInjectorValues("x", values({ tag: "1.31" }))!, {}), undefined);
  });

  it("tells an upgrade from another image type of the same build", () => {
    assert.equal(sameProxyBuild("docker.io/istio/proxyv2:1.31.0-distroless", "docker.io/istio/proxyv2:1.31.0"), true);
    assert.equal(sameProxyBuild("docker.io/istio/proxyv2:1.30.2", "docker.io/istio/proxyv2:1.31.0"), false);
    assert.equal(sameProxyBuild("localhost:5000/proxyv2:1.31.0", "localhost:5000/proxyv2:1.31.0-debug"), true);
    // A digest pinned by a policy engine, a hub rewritten by a registry mirror: the same build.
    assert.equal(sameProxyBuild("docker.io/istio/proxyv2:1.31.0@sha256:0123abcd", "docker.io/istio/proxyv2:1.31.0"), true);
    assert.equal(sameProxyBuild("mirror.example:5000/istio/proxyv2:1.31.0", "docker.io/istio/proxyv2:1.31.0"), true);
    assert.equal(sameProxyBuild("mirror.example:5000/istio/proxyv2:1.30.1", "docker.io/istio/proxyv2:1.31.0"), false);
    assert.equal(sameProxyBuild("docker.io/istio/other:1.31.0", "docker.io/istio/proxyv2:1.31.0"), false);
  });

  it("knows which pods Istio's sidecar template injects (only it reads native sidecars)", () => {
    assert.equal(injectedAsSidecar({}), true);
    assert.equal(injectedAsSidecar({ "inject.istio.io/templates": "gateway" }), false);
    assert.equal(injectedAsSidecar({ "inject.istio.io/templates": "sidecar,spire" }), true);
  });

  it("refuses values it cannot read", () => {
    assert.equal(parseInjectorValues("x", "{not json"), undefined);
    assert.equal(parseInjectorValues("x", undefined), undefined);
    for (const notAnObject of ["null", "[]", '"values"', "7"]) assert.equal(parseInjectorValues("x", notAnObject), undefined, notAnObject);
  });

  it("decides native sidecars as Istio does: the pod's annotation, then ENABLE_NATIVE_SIDECARS, then every kubelet at 1.33 or newer", () => {
    const mode = (env: unknown) => parseInjectorValues("x", values({}, env === undefined ? {} : { ENABLE_NATIVE_SIDECARS: env }))!;
    assert.equal(mode(undefined).nativeSidecars, "auto");
    assert.equal(mode(true).nativeSidecars, "enabled");
    assert.equal(mode("false").nativeSidecars, "disabled");
    assert.equal(mode("yes").nativeSidecars, "disabled", "istiod takes an unknown value as false");
    // Unset, it was false before Istio 1.27: the revision's version tells.
    assert.equal(parseInjectorValues("x", values({ tag: "1.26.3" }))!.nativeSidecars, "disabled");
    assert.equal(parseInjectorValues("x", values({ tag: "1.27.0-distroless" }))!.nativeSidecars, "auto");
    assert.equal(parseInjectorValues("x", values({ tag: "1.26.3" }, { ENABLE_NATIVE_SIDECARS: "auto" }))!.nativeSidecars, "auto");
    assert.equal(nativeSidecarOf(mode(true), { "sidecar.istio.io/nativeSidecar": "false" }, undefined), false);
    assert.equal(nativeSidecarOf(mode("false"), { "sidecar.istio.io/nativeSidecar": "yes" }, undefined), true, "any value but false is native");
    assert.equal(nativeSidecarOf(mode(true), {}, undefined), true);
    assert.equal(nativeSidecarOf(mode("false"), { "sidecar.istio.io/nativeSidecar": "" }, undefined), false, "empty: the revision's setting");
    assert.equal(nativeSidecarOf(mode(undefined), {}, undefined), undefined, "auto without the nodes: cannot tell");
    assert.equal(nativeSidecarOf(mode(undefined), {}, ["v1.33.1", "v1.34.0-eks-1"]), true);
    assert.equal(nativeSidecarOf(mode(undefined), {}, ["v1.33.1", "v1.32.9"]), false, "one older node turns it off");
    assert.equal(nativeSidecarOf(mode(undefined), {}, ["kwok"]), false, "a version it cannot read counts against");
    assert.equal(nativeSidecarOf(undefined, {}, ["v1.34.0"]), undefined, "revision unknown");
    assert.equal(kubeletMinor("1.29"), 29);
  });

  it("takes ENABLE_NATIVE_SIDECARS from the revision's istiod before the ConfigMap's copy", () => {
    const fromValues = parseInjectorValues("canary", values({}, { ENABLE_NATIVE_SIDECARS: "true" }))!;
    const istiod = (revision: string, env: { name: string; value?: string }[]) => ({
      metadata: { labels: { app: "istiod", "istio.io/rev": revision } },
      spec: { template: { spec: { containers: [{ name: "discovery", env }] } } },
    });
    assert.equal(withIstiodEnv(fromValues, [istiod("canary", [{ name: "ENABLE_NATIVE_SIDECARS", value: "false" }])]).nativeSidecars, "disabled");
    assert.equal(withIstiodEnv(fromValues, [istiod("canary", [])]).nativeSidecars, "auto", "unset in istiod: its default");
    const old = {
      ...istiod("canary", []),
      spec: { template: { spec: { containers: [{ name: "discovery", image: "docker.io/istio/pilot:1.25.2", env: [] }] } } },
    };
    assert.equal(withIstiodEnv(fromValues, [old]).nativeSidecars, "disabled", "unset in an istiod before 1.27: off");
    assert.equal(withIstiodEnv(fromValues, [istiod("default", [])]).nativeSidecars, "enabled", "another revision's istiod says nothing of it");
    assert.equal(withIstiodEnv(fromValues, [istiod("canary", [{ name: "ENABLE_NATIVE_SIDECARS" }])]).nativeSidecars, "enabled", "valueFrom: the copy stands");
  });
});
