import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { pino } from "pino";
import { Counter, Registry } from "prom-client";
import { PolicySource } from "./policy-source.js";

const HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices:\n";
/** A valid policy of COUNT entries whose last names VERSION. */
const version = (n: number, count = 3_000): string =>
  `${HEADER}${Array.from({ length: count }, (_, i) => `  - {namespace: shop, name: s${i}}\n`).join("")}  - {name: v${n}}\n`;

async function waitFor<T>(what: string, boundMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited ${boundMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the installed policy, read again every poll", () => {
  it("loads one change at a time, skips versions superseded while one was loading, and ends on the newest", async () => {
    const registry = new Registry();
    const reloads = new Counter({ name: "test_reloads_total", help: "-", labelNames: ["kind", "result"], registers: [registry] });
    let installed = 0;
    let read = -1;
    const loaded: string[] = [];
    const source = await PolicySource.open({
      file: undefined,
      installed: { where: "ConfigMap test/policy", read: () => Promise.resolve(version((read = installed))) },
      logger: pino({ level: "silent" }, new Writable({ write: (_c, _e, done) => done() })),
      pollMs: 5,
      registry,
      reloads,
      onReload: (next) => loaded.push(next.policy.services.at(-1)!.name),
    });
    try {
      assert.equal(source.current.policy.services.at(-1)!.name, "v0");
      // A new version at every poll, each read by a poll, faster than one can be parsed.
      const newest = 40;
      for (let n = 1; n <= newest; n++) {
        installed = n;
        await waitFor(`a poll to read v${n}`, 10_000, () => (read === n ? true : undefined));
      }
      await waitFor(`v${newest} in force`, 60_000, () => (source.current.policy.services.at(-1)!.name === `v${newest}` ? true : undefined));
      await source.settled();
      assert.equal(source.current.policy.services.at(-1)!.name, `v${newest}`);
      assert.ok(loaded.length < newest, `loaded ${loaded.length} of ${newest} versions: superseded ones are skipped`);
      const order = loaded.map((name) => Number(name.slice(1)));
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
        "in the order they were installed",
      );
    } finally {
      source.close();
    }
  });
});
