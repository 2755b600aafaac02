import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { MAX_PROXY_CONFIG_CHARS, MERGE_MEMO_CHARS, mergeMemoSize, mergeProxyConfigFields } from "./proxy-config.js";

const mergeHoldIntoProxyConfig = (text: string | undefined) => mergeProxyConfigFields(text, { holdApplicationUntilProxyStarts: true });

describe("proxy-config: merging fields into proxy.istio.io/config", () => {
  it("merges into YAML, keeping every other field and the comments", () => {
    const merged = mergeHoldIntoProxyConfig("# tuned for reviews\nconcurrency: 4\nterminationDrainDuration: 20s\n");
    assert.equal(merged.kind, "merged");
    const text = (merged as { text: string }).text;
    assert.match(text, /# tuned for reviews/);
    assert.deepEqual(parse(text), { concurrency: 4, terminationDrainDuration: "20s", holdApplicationUntilProxyStarts: true });
  });
  it("merges into JSON and keeps it JSON", () => {
    const merged = mergeHoldIntoProxyConfig('{"concurrency": 2, "proxyMetadata": {"A": "b"}}');
    assert.deepEqual(JSON.parse((merged as { text: string }).text), { concurrency: 2, proxyMetadata: { A: "b" }, holdApplicationUntilProxyStarts: true });
  });
  it("answers a value it has seen from memory, exactly as a first parse does, and stays bounded", () => {
    const value = 'concurrency: 3\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n';
    const first = mergeHoldIntoProxyConfig(value);
    const again = mergeHoldIntoProxyConfig(value);
    assert.equal(again, first);
    assert.deepEqual(parse((again as { text: string }).text), {
      concurrency: 3,
      proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" },
      holdApplicationUntilProxyStarts: true,
    });
    for (let i = 0; i < 3000; i++) assert.equal(mergeHoldIntoProxyConfig(`concurrency: ${i}\n`).kind, "merged");
    assert.deepEqual(mergeHoldIntoProxyConfig(value), first);
  });
  it("finds a duplicate key among thousands in one pass, and refuses it as Istio would", () => {
    const keys = Array.from({ length: 1500 }, (_, i) => `k${i}: v`);
    assert.equal(mergeHoldIntoProxyConfig(keys.join("\n")).kind, "merged");
    const merge = mergeHoldIntoProxyConfig([...keys, "k7: again"].join("\n"));
    assert.deepEqual(merge, { kind: "unreadable", reason: 'the key "k7" appears twice in one mapping' });
    assert.equal(mergeHoldIntoProxyConfig("proxyMetadata:\n  A: x\n  A: y\n").kind, "unreadable", "nested maps too");
  });
  it("refuses an alias bomb rather than expanding it", () => {
    const laughs = [
      "a: &a [x, x, x, x, x, x, x, x, x]",
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(", ")}]`,
      ),
    ].join("\n");
    assert.equal(mergeHoldIntoProxyConfig(`{"concurrency": 2}`).kind, "merged");
    assert.equal(mergeHoldIntoProxyConfig(laughs).kind, "unreadable");
  });
  it("bounds the characters its memory holds, whatever the stream of distinct values", () => {
    for (let i = 0; i < 400; i++) {
      mergeHoldIntoProxyConfig(`k${i}: ${"x".repeat(MAX_PROXY_CONFIG_CHARS - 20)}`);
      assert.ok(mergeMemoSize().chars <= MERGE_MEMO_CHARS, `held ${mergeMemoSize().chars} characters`);
    }
  });

  it("answers a pod with no annotation yet from memory too, per set of fields", () => {
    const hold = { holdApplicationUntilProxyStarts: true };
    const first = mergeProxyConfigFields(undefined, hold);
    assert.equal(mergeProxyConfigFields(undefined, hold), first, "the same answer object: remembered, not rebuilt");
    assert.equal(mergeProxyConfigFields("  ", hold).kind, "merged");
    assert.deepEqual(first, { kind: "merged", text: "holdApplicationUntilProxyStarts: true\n", kept: {} });
    assert.deepEqual(
      mergeProxyConfigFields(undefined, { concurrency: 2 }),
      { kind: "merged", text: "concurrency: 2\n", kept: {} },
      "other fields, another answer",
    );
  });

  it("keeps a field the user set to another value, and says which", () => {
    const merge = mergeProxyConfigFields("concurrency: 4\n", { concurrency: 2, terminationDrainDuration: "20s" });
    assert.equal(merge.kind, "merged");
    assert.deepEqual(parse((merge as { text: string }).text), { concurrency: 4, terminationDrainDuration: "20s" });
    assert.deepEqual((merge as { kept: object }).kept, { concurrency: 4 });
    assert.deepEqual(mergeProxyConfigFields('{"concurrency":2}', { concurrency: 2 }), { kind: "unchanged", kept: {} });
  });
});
