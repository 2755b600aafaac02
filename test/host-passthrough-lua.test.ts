import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LuaScript } from "../src/host-passthrough/lua-source.js";
import { DEFAULT_OPTIONS, type HostPassthroughOptions } from "../src/host-passthrough/options.js";
import { caseProgram, expectedLines, luajitAvailable, runInLuajit, runInWasmoon, type LuaRequest } from "./fixtures/lua-programs.js";

const H = DEFAULT_OPTIONS.header;
const options: HostPassthroughOptions = { ...DEFAULT_OPTIONS, serviceCidrs: ["10.96.0.0/12", "fd00:10:96::/112"], trustDomains: ["cluster.local"] };
const meshPeer = { presented: true, uris: ["spiffe://cluster.local/ns/shop/sa/frontend"] };

interface LuaCase {
  readonly name: string;
  readonly script: LuaScript;
  readonly request: LuaRequest;
  readonly expect: readonly (readonly [string, string])[];
}

// One case a line, read as a table.
// prettier-ignore
const CASES: readonly LuaCase[] = [
  // Outbound: the client's sidecar.
  { name: "outbound rewrites :authority to the VIP it dialled and saves the Host", script: "outbound", request: { headers: [[":authority", "legacy.example.com"], [":path", "/a"]], destination: "10.96.3.7:8080" }, expect: [[":authority", "10.96.3.7:8080"], [":path", "/a"], [H, "legacy.example.com"]] },
  { name: "outbound drops a header the caller planted, even when it rewrites", script: "outbound", request: { headers: [[":authority", "legacy.example.com"], [H, "admin.internal"]], destination: "10.96.3.7:8080" }, expect: [[":authority", "10.96.3.7:8080"], [H, "legacy.example.com"]] },
  { name: "outbound drops a planted header and leaves a VIP authority alone", script: "outbound", request: { headers: [[":authority", "10.96.3.7:8080"], [H, "admin.internal"], [H.toUpperCase(), "x"]], destination: "10.96.3.7:8080" }, expect: [[":authority", "10.96.3.7:8080"]] },
  { name: "outbound leaves the authority alone when it is the VIP without a port", script: "outbound", request: { headers: [[":authority", "10.96.3.7"]], destination: "10.96.3.7:80" }, expect: [[":authority", "10.96.3.7"]] },
  { name: "outbound leaves calls outside the Service CIDRs alone", script: "outbound", request: { headers: [[":authority", "example.com"]], destination: "93.184.216.34:443" }, expect: [[":authority", "example.com"]] },
  { name: "outbound checks the prefix length, not just the first octet", script: "outbound", request: { headers: [[":authority", "legacy"]], destination: "10.112.0.1:80" }, expect: [[":authority", "legacy"]] },
  { name: "outbound does nothing, without error, when there is no destination", script: "outbound", request: { headers: [[":authority", "legacy"]] }, expect: [[":authority", "legacy"]] },
  { name: "outbound does nothing for a destination that is not an IP address", script: "outbound", request: { headers: [[":authority", "legacy"]], destination: "envoy://internal_client_address/" }, expect: [[":authority", "legacy"]] },
  { name: "outbound rewrites to an IPv6 VIP", script: "outbound", request: { headers: [[":authority", "legacy.example.com"]], destination: "[fd00:10:96::a]:80" }, expect: [[":authority", "[fd00:10:96::a]:80"], [H, "legacy.example.com"]] },
  { name: "outbound leaves an IPv6 address outside the /112 alone", script: "outbound", request: { headers: [[":authority", "legacy"]], destination: "[fd00:10:96::1:a]:80" }, expect: [[":authority", "legacy"]] },
  { name: "outbound sees an IPv4-mapped destination as IPv4", script: "outbound", request: { headers: [[":authority", "legacy"]], destination: "[::ffff:10.96.0.9]:80" }, expect: [[":authority", "[::ffff:10.96.0.9]:80"], [H, "legacy"]] },
  { name: "outbound leaves a request with no authority alone", script: "outbound", request: { headers: [[":path", "/"]], destination: "10.96.3.7:80" }, expect: [[":path", "/"]] },

  // Inbound: the server's sidecar.
  { name: "inbound restores the Host from a mesh peer and removes the header", script: "inbound", request: { headers: [[":authority", "10.96.3.7:8080"], [H, "legacy.example.com"]], ssl: meshPeer }, expect: [[":authority", "legacy.example.com"]] },
  { name: "inbound accepts a host with a port and an IPv6 literal", script: "inbound", request: { headers: [[":authority", "10.96.3.7:8080"], [H, "[fd00::1]:8443"]], ssl: meshPeer }, expect: [[":authority", "[fd00::1]:8443"]] },
  { name: "inbound ignores the header from a plaintext peer, and removes it", script: "inbound", request: { headers: [[":authority", "10.96.3.7:8080"], [H, "legacy.example.com"]] }, expect: [[":authority", "10.96.3.7:8080"]] },
  { name: "inbound ignores it when the peer presented no certificate", script: "inbound", request: { headers: [[":authority", "vip"], [H, "legacy"]], ssl: { presented: false, uris: [] } }, expect: [[":authority", "vip"]] },
  { name: "inbound ignores a peer from a foreign trust domain", script: "inbound", request: { headers: [[":authority", "vip"], [H, "legacy"]], ssl: { presented: true, uris: ["spiffe://evil.example/ns/shop/sa/x", "https://cluster.local/"] } }, expect: [[":authority", "vip"]] },
  { name: "inbound does not take a trust-domain prefix for the domain", script: "inbound", request: { headers: [[":authority", "vip"], [H, "legacy"]], ssl: { presented: true, uris: ["spiffe://cluster.local.evil.example/ns/x/sa/y"] } }, expect: [[":authority", "vip"]] },
  { name: "inbound refuses CR and LF in the value", script: "inbound", request: { headers: [[":authority", "vip"], [H, "legacy.example.com\r\nx-admin: 1"]], ssl: meshPeer }, expect: [[":authority", "vip"]] },
  { name: "inbound refuses a comma (two hosts)", script: "inbound", request: { headers: [[":authority", "vip"], [H, "a.example.com,b.example.com"]], ssl: meshPeer }, expect: [[":authority", "vip"]] },
  { name: "inbound refuses spaces", script: "inbound", request: { headers: [[":authority", "vip"], [H, "a.example.com b"]], ssl: meshPeer }, expect: [[":authority", "vip"]] },
  { name: "inbound refuses duplicate values and removes them all", script: "inbound", request: { headers: [[":authority", "vip"], [H, "a.example.com"], [H, "a.example.com"]], ssl: meshPeer }, expect: [[":authority", "vip"]] },
  { name: "inbound refuses a value over 255 characters", script: "inbound", request: { headers: [[":authority", "vip"], [H, `${"a".repeat(250)}.example.com`]], ssl: meshPeer }, expect: [[":authority", "vip"]] },
  { name: "inbound changes nothing when the header is absent", script: "inbound", request: { headers: [[":authority", "vip"], ["x-other", "1"]], ssl: meshPeer }, expect: [[":authority", "vip"], ["x-other", "1"]] },

  // Gateway: the edge of the mesh.
  { name: "gateway strips every copy of the header and nothing else", script: "gateway", request: { headers: [[":authority", "shop.example.com"], [H, "admin.internal"], [H, "x"], ["x-other", "1"]] }, expect: [[":authority", "shop.example.com"], ["x-other", "1"]] },
];

function check(output: string, expected: LuaCase["expect"]): void {
  assert.ok(!output.startsWith("ERROR:"), output);
  assert.deepEqual(output === "" ? [] : output.split("\n").sort(), expectedLines(expected));
}

describe("the Host-passthrough Lua filters in Lua 5.4 (wasmoon)", () => {
  for (const testCase of CASES) {
    it(testCase.name, async () => check(await runInWasmoon(caseProgram(testCase.script, options, testCase.request)), testCase.expect));
  }
  it("the stand-in handle catches API misuse (the harness is real)", async () => {
    const output = await runInWasmoon(
      caseProgram("gateway", options, { headers: [] }).replace("handle:headers():remove(HEADER)", "handle.headers():remove(HEADER)"),
    );
    assert.match(output, /^ERROR: .*use handle:headers\(\)/);
  });
});

const requireLuajit = process.env["MESH_TAILOR_REQUIRE_LUAJIT"] === "1";
const haveLuajit = luajitAvailable();
describe(
  "the Host-passthrough Lua filters in LuaJIT (what Envoy embeds)",
  { skip: !haveLuajit && !requireLuajit ? "luajit is not installed (CI installs it)" : false },
  () => {
    it("luajit is installed", () => assert.ok(haveLuajit, "MESH_TAILOR_REQUIRE_LUAJIT=1 but luajit is not on the PATH"));
    for (const testCase of CASES) {
      it(testCase.name, () => check(runInLuajit(caseProgram(testCase.script, options, testCase.request)), testCase.expect));
    }
  },
);
