import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { hostPassthroughFilters, LUA_TYPE_URL } from "../src/host-passthrough/envoy-filters.js";
import { renderLua } from "../src/host-passthrough/lua-source.js";
import { DEFAULT_OPTIONS } from "../src/host-passthrough/options.js";
import { cli } from "./fixtures/run-cli.js";

const COMMITTED = fileURLToPath(new URL("../../manifests/host-passthrough/envoyfilters.yaml", import.meta.url));
/** An EnvoyFilter's spec as envoy-filters.ts writes it: one patch that places a Lua filter. */
type LuaFilterSpec = {
  workloadSelector?: { labels: Record<string, string> };
  configPatches: {
    applyTo: string;
    match: { context: string; listener?: { filterChain: { filter: unknown } } };
    patch: { operation: string; value: { typed_config: { "@type": string; inline_code?: string; default_source_code: { inline_string: string } } } };
  }[];
};

const filters = hostPassthroughFilters(DEFAULT_OPTIONS);
const byName = (name: string) => {
  const found = filters.find((f) => f.metadata.name === name);
  assert.ok(found, name);
  return found.spec as LuaFilterSpec;
};

describe("the Host-passthrough EnvoyFilters", () => {
  const expected: [string, string, string | undefined, string, string][] = [
    ["mesh-tailor-host-passthrough-outbound", "SIDECAR_OUTBOUND", "outbound", "INSERT_BEFORE", "envoy.filters.http.router"],
    ["mesh-tailor-host-passthrough-outbound-both", "SIDECAR_OUTBOUND", "both", "INSERT_BEFORE", "envoy.filters.http.router"],
    ["mesh-tailor-host-passthrough-inbound", "SIDECAR_INBOUND", "inbound", "INSERT_BEFORE", "envoy.filters.http.rbac"],
    ["mesh-tailor-host-passthrough-inbound-both", "SIDECAR_INBOUND", "both", "INSERT_BEFORE", "envoy.filters.http.rbac"],
  ];
  for (const [name, context, label, operation, before] of expected) {
    it(`${name}: ${context}, selects ${label}, ${operation} ${before}`, () => {
      const spec = byName(name);
      assert.deepEqual(spec.workloadSelector, { labels: { "mesh-tailor.io/host-passthrough": label } });
      const patch = spec.configPatches[0]!;
      assert.equal(patch.applyTo, "HTTP_FILTER");
      assert.equal(patch.match.context, context);
      assert.deepEqual(patch.match.listener!.filterChain.filter, { name: "envoy.filters.network.http_connection_manager", subFilter: { name: before } });
      assert.equal(patch.patch.operation, operation);
      assert.equal(patch.patch.value.typed_config["@type"], LUA_TYPE_URL);
      assert.equal(patch.patch.value.typed_config.inline_code, undefined, "inline_code is deprecated");
      assert.equal(
        patch.patch.value.typed_config.default_source_code.inline_string,
        renderLua(context === "SIDECAR_OUTBOUND" ? "outbound" : "inbound", DEFAULT_OPTIONS),
      );
    });
  }

  it("strips the header at every gateway, first in the chain", () => {
    const spec = byName("mesh-tailor-host-passthrough-gateway");
    assert.equal(spec.workloadSelector, undefined, "every gateway");
    const patch = spec.configPatches[0]!;
    assert.equal(patch.match.context, "GATEWAY");
    assert.equal(patch.patch.operation, "INSERT_FIRST");
    assert.equal(patch.patch.value.typed_config["@type"], LUA_TYPE_URL);
    assert.match(patch.patch.value.typed_config.default_source_code.inline_string, /local HEADER = "x-mesh-tailor-original-host"/);
  });

  it("gives every filter a unique name in Istio's root namespace", () => {
    assert.equal(new Set(filters.map((f) => f.metadata.name)).size, filters.length);
    assert.ok(filters.every((f) => f.apiVersion === "networking.istio.io/v1alpha3" && f.metadata.namespace === "istio-system"));
  });

  it("the committed manifests/host-passthrough/envoyfilters.yaml is exactly what render prints", async () => {
    const run = await cli(["render", "host-passthrough"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      readFileSync(COMMITTED, "utf8"),
      run.stdout,
      "regenerate with: node dist/src/cli/main.js render host-passthrough > manifests/host-passthrough/envoyfilters.yaml",
    );
    assert.equal(parseAllDocuments(run.stdout).length, 5);
  });

  it("renders the flags into the Lua source", async () => {
    const run = await cli([
      "render",
      "host-passthrough",
      "--header",
      "x-my-host",
      "--service-cidr",
      "10.0.0.0/16",
      "--service-cidr",
      "fd00::/108",
      "--trust-domain",
      "prod.example",
      "--namespace",
      "mesh-root",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const docs = parseAllDocuments(run.stdout).map((d) => d.toJS() as { metadata: { name: string; namespace: string }; spec: LuaFilterSpec });
    assert.ok(docs.every((d) => d.metadata.namespace === "mesh-root"));
    const source = (name: string) =>
      docs.find((d) => d.metadata.name === name)!.spec.configPatches[0]!.patch.value.typed_config.default_source_code.inline_string;
    assert.match(source("mesh-tailor-host-passthrough-outbound"), /local SERVICE_CIDRS = \{ "10\.0\.0\.0\/16", "fd00::\/108" \}/);
    assert.match(source("mesh-tailor-host-passthrough-inbound"), /local TRUST_DOMAINS = \{ "prod\.example" \}/);
    assert.match(source("mesh-tailor-host-passthrough-gateway"), /local HEADER = "x-my-host"/);
  });

  it("exits 2 naming each bad flag", async () => {
    const run = await cli(["render", "host-passthrough", "--header", "Bad Header", "--service-cidr", "10.0.0.0/33", "--trust-domain", "x y"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--header "Bad Header"/);
    assert.match(run.stderr, /--service-cidr "10\.0\.0\.0\/33"/);
    assert.match(run.stderr, /--trust-domain "x y"/);
    assert.equal((await cli(["render", "sidecars"])).code, 2);
  });
});
