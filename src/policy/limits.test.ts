import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadPolicy, PolicyError } from "./load.js";
import { lookupGlobCharacters, MAX_EXPANDED_SIZE, MAX_LOOKUP_GLOB_CHARACTERS, MAX_SERVICE_ENTRIES } from "./limits.js";
import type { TailorPolicy } from "./schema.js";

const HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices:\n";
const entries = (count: number, line: (i: number) => string): string => HEADER + Array.from({ length: count }, (_, i) => line(i)).join("");

/** The problems loadPolicy refuses TEXT with. */
function refusal(text: string): string {
  try {
    loadPolicy(text, "test");
  } catch (error) {
    assert.ok(error instanceof PolicyError);
    return error.problems.join("\n");
  }
  assert.fail("the policy was accepted");
}

const services = (...list: [namespace: string, name: string][]): TailorPolicy["services"] =>
  list.map(([namespace, name]) => ({ namespace, name, inject: true, hostPassthrough: "none" }));

describe("what a policy may cost", () => {
  it("accepts as many services entries as the limit, and refuses one more, naming the limit", () => {
    const line = (i: number) => `  - {name: s${i}}\n`;
    assert.equal(loadPolicy(entries(MAX_SERVICE_ENTRIES, line)).policy.services.length, MAX_SERVICE_ENTRIES);
    assert.match(refusal(entries(MAX_SERVICE_ENTRIES + 1, line)), /services: 20001 entries, over the limit of 20000 entries per policy/);
  });

  it("refuses aliases that expand the document past the limit, before validating it", () => {
    const mapping = Array.from({ length: 1_000 }, (_, i) => `      example.istio.io/k${i}: "${"v".repeat(20)}"`).join("\n");
    const aliased = (count: number) =>
      `${HEADER}  - name: s0\n    annotations: &many\n${mapping}\n${entries(count, (i) => `  - name: a${i}\n    annotations: *many\n`).slice(HEADER.length)}`;
    // Each alias of the mapping counts what it stands for: about 45 KB.
    assert.equal(loadPolicy(aliased(20)).policy.services.length, 21);
    assert.ok(aliased(60).length < 100_000, "the text itself is small");
    assert.match(
      refusal(aliased(60)),
      new RegExp(`the policy, parsed, is over the limit of ${MAX_EXPANDED_SIZE} characters \\(its text with YAML aliases expanded`),
    );
  });

  it("counts the glob characters one lookup may try: every glob-named entry, and the most-shared literal name's globbed namespaces", () => {
    // Literal names and namespaces, and "*", are looked up or match at once: they cost nothing.
    assert.equal(lookupGlobCharacters(services(["shop", "web"], ["*", "api"], ["*", "*"])), 0);
    // A name of "*" is tried on every lookup, and with it its namespace's glob.
    assert.equal(lookupGlobCharacters(services(["team-*", "*"])), 6);
    assert.equal(lookupGlobCharacters(services(["*", "web-*"], ["team-*", "api-?"])), 5 + 6 + 5);
    // Only the entries named "web" are tried for a pod of web: the larger of the two names' sums.
    assert.equal(lookupGlobCharacters(services(["a-*", "web"], ["bb-*", "web"], ["c-*", "api"])), 3 + 4);
    assert.equal(lookupGlobCharacters(services(["a-*", "web"], ["x", "web-*"])), 5 + 3);
    // Escaped wildcards make a literal.
    assert.equal(lookupGlobCharacters(services(["shop", "web\\*"])), 0);
  });

  it("refuses slow globs past the limit, naming it, and accepts them up to it", () => {
    const slow = (i: number) => `  - name: "*${"a".repeat(31)}b${String(i).padStart(3, "0")}"\n`;
    const perEntry = 1 + 31 + 1 + 3;
    const fits = Math.floor(MAX_LOOKUP_GLOB_CHARACTERS / perEntry);
    assert.equal(loadPolicy(entries(fits, slow)).policy.services.length, fits);
    assert.match(refusal(entries(fits + 1, slow)), /services: one lookup would try \d+ characters of glob, over the limit of 4096 per lookup/);
    // The same through shared literal names with globbed namespaces.
    const shared = (i: number) => `  - namespace: "*${"a".repeat(31)}b${String(i).padStart(3, "0")}"\n    name: web\n`;
    assert.match(refusal(entries(fits + 1, shared)), /over the limit of 4096 per lookup/);
    assert.equal(
      loadPolicy(entries(fits + 1, (i) => `  - namespace: "*${"a".repeat(31)}b${String(i).padStart(3, "0")}"\n    name: web${i}\n`)).policy.services.length,
      fits + 1,
    );
  });
});
