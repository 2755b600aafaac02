import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compileGlob } from "./glob.js";
import { policySchema, type ServiceEntry } from "./schema.js";
import { ServiceIndex } from "./service-index.js";

const entry = (namespace: string, name: string, inject = true): ServiceEntry => ({ namespace, name, inject, hostPassthrough: "none" });

describe("ServiceIndex finds the first matching services entry", () => {
  it("lets the first matching entry win, even when a later one is more specific", () => {
    const index = new ServiceIndex([entry("shop*", "*", false), entry("shop", "reviews", true)]);
    assert.equal(index.lookup("shop", "reviews")?.inject, false);
  });

  it("prefers an earlier literal entry over a later glob", () => {
    const index = new ServiceIndex([entry("shop", "reviews", true), entry("*", "rev*", false)]);
    assert.equal(index.lookup("shop", "reviews")?.inject, true);
    assert.equal(index.lookup("other", "reviews")?.inject, false);
  });

  it("matches sandbox namespaces with a namespace glob", () => {
    const index = new ServiceIndex([entry("shop*", "reviews")]);
    assert.ok(index.lookup("shop--box-10326", "reviews"));
    assert.equal(index.lookup("payments", "reviews"), undefined);
  });

  it("supports ? and character globs", () => {
    const index = new ServiceIndex([entry("team-?", "api-v[12]")]);
    assert.ok(index.lookup("team-a", "api-v1"));
    assert.equal(index.lookup("team-ab", "api-v1"), undefined);
    assert.equal(index.lookup("team-a", "api-v3"), undefined);
  });

  it("looks a name with escapes up by the name it stands for", () => {
    const index = new ServiceIndex([entry("*", "re\\views")]);
    assert.ok(index.lookup("shop", "reviews"));
  });

  it("agrees with a linear first-match scan for any entries and lookups", () => {
    const segment = fc.constantFrom("shop", "pay", "shop--box-1", "reviews", "ratings", "api");
    const pattern = fc.oneof(
      segment,
      segment.map((s) => `${s.slice(0, 2)}*`),
      segment.map((s) => `?${s.slice(1)}`),
      fc.constant("*"),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(pattern, pattern, fc.boolean()), { maxLength: 12 }), segment, segment, (raw, namespace, name) => {
        const entries = raw.map(([ns, n, inject]) => entry(ns, n, inject));
        const linear = entries.find((e) => compileGlob(e.namespace).matches(namespace) && compileGlob(e.name).matches(name));
        assert.equal(new ServiceIndex(entries).lookup(namespace, name), linear);
      }),
      { numRuns: 300 },
    );
  });

  it("parses into entries the index accepts", () => {
    const parsed = policySchema.parse({ apiVersion: "mesh-tailor.io/v1alpha1", kind: "TailorPolicy", services: [{ name: "reviews" }] });
    assert.equal(new ServiceIndex(parsed.services).lookup("any", "reviews")?.namespace, "*");
  });

  it("looks up no name longer than a workload's, nor a namespace longer than a DNS label: a forged megabyte name costs nothing", () => {
    // The slowest globs a policy may hold (src/policy/limits.ts): each tried on a megabyte name
    // would take seconds in all.
    const slow = Array.from({ length: 110 }, (_, i) => entry("*", `*${"a".repeat(31)}b${i}`));
    const index = new ServiceIndex([...slow, entry("*", "*")]);
    const huge = "a".repeat(1024 * 1024);
    const started = performance.now();
    assert.equal(index.lookup("shop", huge), undefined);
    assert.equal(index.lookup(huge, "reviews"), undefined);
    // Without the bound, measured at 27.6 s; the bound is for a busy 2-core machine.
    assert.ok(performance.now() - started < 1_000);
    assert.equal(index.lookup("shop", "a".repeat(253))?.name, "*", "the longest workload name is looked up");
    assert.equal(index.lookup("shop", "a".repeat(254)), undefined);
  });
});
