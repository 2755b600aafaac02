import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WorkQueue } from "./work-queue.js";

const until = async (what: string, check: () => boolean): Promise<void> => {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe("the reconcile queue", () => {
  it("holds a key once however often it is added", async () => {
    const queue = new WorkQueue();
    for (let i = 0; i < 5; i++) queue.add("shop");
    queue.add("cart");
    assert.equal(queue.length, 2);
    const seen: string[] = [];
    const running = queue.run((key) => Promise.resolve(void seen.push(key)), 2);
    await until("both keys to be processed", () => seen.length === 2);
    queue.stop();
    await running;
    assert.deepEqual(seen.sort(), ["cart", "shop"]);
  });

  it("never runs a key twice at once, and runs it again when it changed meanwhile", async () => {
    const queue = new WorkQueue();
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const running = queue.run(async () => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      runs += 1;
      if (runs === 1) await blocked;
      active -= 1;
    }, 4);
    queue.add("shop");
    await until("the first run to start", () => runs === 1);
    queue.add("shop");
    queue.add("shop");
    release();
    await until("the second run", () => runs === 2);
    queue.stop();
    await running;
    assert.equal(maxActive, 1);
    assert.equal(runs, 2);
  });

  it("retries a failed key after a backoff", async () => {
    const queue = new WorkQueue();
    let attempts = 0;
    const running = queue.run((key) => {
      attempts += 1;
      if (attempts === 1) queue.retry(key);
      else queue.forget(key);
      return Promise.resolve();
    }, 1);
    queue.add("shop");
    await until("the retry", () => attempts === 2);
    queue.stop();
    await running;
  });
});
