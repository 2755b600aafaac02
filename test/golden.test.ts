import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { GOLDEN_DIR, GOLDEN_POLICY, goldenCases, recordedWarnings } from "../scripts/golden.js";
import { cli } from "./fixtures/run-cli.js";

const STALE = "stale golden file: run `npm run generate`, read the diff of pods, and commit it";
const cases = goldenCases();

describe("golden cases (test/golden): the webhook and `inject` admit each pod exactly as recorded", () => {
  it("has a case for every shape the README names", () => {
    const names = cases.map((c) => c.name);
    for (const needed of [
      "selected-before-istio",
      "selected-classic-after-istio",
      "selected-native-after-istio",
      "cronjob-run",
      "sandbox",
      "host-network",
      "user-overrides",
    ])
      assert.ok(names.includes(needed), needed);
  });

  it("has no .injected file without its input", () => {
    const orphans = readdirSync(GOLDEN_DIR).filter((file) => file.endsWith(".injected") && !existsSync(join(GOLDEN_DIR, file.replace(/\.injected$/, ".yaml"))));
    assert.deepEqual(orphans, []);
  });

  for (const golden of cases) {
    describe(golden.name, () => {
      const file = join(GOLDEN_DIR, `${golden.name}.injected`);

      it("the webhook's patch gives the recorded pod and warnings", () => {
        assert.ok(existsSync(file), `${file} is missing: run \`npm run generate\``);
        assert.equal(readFileSync(file, "utf8"), golden.expected, STALE);
      });

      it("`mesh-tailor inject` gives the same pod and warnings", async () => {
        const run = await cli(["inject", "-f", join(GOLDEN_DIR, `${golden.name}.yaml`), "--config", GOLDEN_POLICY]);
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(parse(run.stdout), parse(golden.expected));
        const warnings = run.stderr
          .split("\n")
          .filter(Boolean)
          .map((line) => line.replace(/^document \d+ \([^)]*\): /, ""));
        assert.deepEqual(warnings, recordedWarnings(golden.expected));
      });

      it("a second pass changes nothing (reinvocation)", async () => {
        const once: unknown = parse(golden.expected);
        const run = await cli(["inject", "-f", "-", "--config", GOLDEN_POLICY, "-o", "json"], JSON.stringify(once));
        assert.deepEqual(JSON.parse(run.stdout), once);
      });
    });
  }
});
