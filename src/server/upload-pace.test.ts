import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { UploadPace } from "./upload-pace.js";

const body = () => new PassThrough() as unknown as IncomingMessage & PassThrough;
const until = async (what: string, ms: number, check: () => boolean) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`no ${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe("the minimum upload rate", () => {
  it("cuts a body that trickles once the grace is over, and spares one that keeps the pace", async () => {
    let clock = 0;
    const pace = new UploadPace(1_000, 500, 5, () => clock);
    const slow = body();
    const steady = body();
    let slowCut = 0;
    let steadyCut = 0;
    const stopSlow = pace.watch(slow, () => slowCut++);
    const stopSteady = pace.watch(steady, () => steadyCut++);
    slow.on("data", () => undefined);
    steady.on("data", () => undefined);
    slow.write(Buffer.alloc(1));
    steady.write(Buffer.alloc(1_000));
    clock = 1_400; // 0.9 s past the grace: 900 bytes owed
    await until("the trickling body to be cut", 2_000, () => slowCut === 1);
    assert.equal(steadyCut, 0, "1,000 bytes are ahead of the 900 owed");
    stopSteady(); // its body ended
    clock = 10_000;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(slowCut, 1, "cut once");
    assert.equal(steadyCut, 0, "an ended body is never cut");
    stopSlow();
  });

  it("stops watching when told: a finished body is never cut, and no timer is left running", async () => {
    let clock = 0;
    const pace = new UploadPace(1_000, 0, 5, () => clock);
    const done = body();
    let cut = 0;
    const stop = pace.watch(done, () => cut++);
    stop();
    clock = 60_000;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(cut, 0);
  });
});
