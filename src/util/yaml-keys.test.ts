import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LineCounter, parseDocument } from "yaml";
import { firstDuplicateKey } from "./yaml-keys.js";

describe("firstDuplicateKey", () => {
  it("names the first key a mapping repeats, at any depth, with its line and column", () => {
    const lines = new LineCounter();
    const document = parseDocument("a: 1\nb:\n  c: 2\n  c: 3\n", { uniqueKeys: false, lineCounter: lines });
    assert.equal(firstDuplicateKey(document, lines), 'line 4, column 3: the key "c" appears twice in one mapping');
    assert.equal(firstDuplicateKey(document), 'the key "c" appears twice in one mapping');
  });

  it("allows the same key in different mappings, and thousands of distinct ones", () => {
    assert.equal(firstDuplicateKey(parseDocument("a: {x: 1}\nb: {x: 2}\n", { uniqueKeys: false })), undefined);
    const many = Array.from({ length: 20_000 }, (_, i) => `k${i}: v`).join("\n");
    assert.equal(firstDuplicateKey(parseDocument(many, { uniqueKeys: false })), undefined);
  });
});
