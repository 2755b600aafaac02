import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LineSplitter } from "./json-lines.js";

describe("watch stream lines", () => {
  it("joins lines split across chunks, multi-byte characters included", () => {
    const splitter = new LineSplitter(1024);
    const text = Buffer.from('{"a":"é"}\n{"b":2}\n');
    const lines = [...splitter.push(text.subarray(0, 7)), ...splitter.push(text.subarray(7, 13)), ...splitter.push(text.subarray(13))];
    assert.deepEqual(lines, ['{"a":"é"}', '{"b":2}']);
  });

  it("refuses a line that never ends before the bound", () => {
    const splitter = new LineSplitter(10);
    assert.throws(() => splitter.push(Buffer.from("x".repeat(11))), /a line over 10 bytes/);
  });
});
