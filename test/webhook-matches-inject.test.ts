import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, it } from "node:test";
import fc from "fast-check";
import fastJsonPatch from "fast-json-patch";
import request from "supertest";
import { parse, stringify } from "yaml";
import { createLogger } from "../src/logging/logger.js";
import { main } from "../src/cli/run.js";
import { loadPolicy } from "../src/policy/load.js";
import { createApp } from "../src/server/app.js";
import { Metrics } from "../src/server/metrics.js";
import type { Pod } from "../src/pod/types.js";
import { arbitraryPod } from "./fixtures/arbitrary-pods.js";
import { decodePatch, podCreateReview, type AnsweredReview } from "./fixtures/reviews.js";

const POLICY_TEXT =
  "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices:\n  - name: reviews\n    hostPassthrough: inbound\n  - name: report\nlocality: {default: r.z}\njobs: {nativeSidecar: true}\n";
const policy = loadPolicy(POLICY_TEXT);
const app = createApp({
  logger: createLogger({ level: "silent" }),
  metrics: new Metrics({ processMetrics: false }),
  currentPolicy: () => policy,
  notReadyReasons: () => [],
});

async function viaWebhook(pod: Pod, namespace: string): Promise<Pod> {
  const response = await request(app).post("/mutate").send(podCreateReview(pod, { namespace })).expect(200);
  const operations = decodePatch((response.body as AnsweredReview).response.patch) as fastJsonPatch.Operation[];
  return fastJsonPatch.applyPatch(structuredClone(pod), operations, true, false).newDocument;
}

async function viaInject(pod: Pod, namespace: string, policyFile: string): Promise<Pod> {
  const stdout = new PassThrough();
  let out = "";
  stdout.on("data", (c) => (out += c));
  const code = await main(["inject", "-f", "-", "-n", namespace, "--config", policyFile, "-o", "json"], {
    stdout,
    stderr: new PassThrough(),
    stdin: Readable.from([stringify(pod)]),
    env: {},
  });
  assert.equal(code, 0);
  return JSON.parse(out) as Pod;
}

describe("the webhook and `mesh-tailor inject`", () => {
  it("give the same pod for the same input", async () => {
    const policyFile = join(mkdtempSync(join(tmpdir(), "mesh-tailor-eq-")), "policy.yaml");
    writeFileSync(policyFile, POLICY_TEXT);
    await fc.assert(
      fc.asyncProperty(arbitraryPod, fc.constantFrom("shop", "shop--box-5"), async (pod, namespace) => {
        const plain = parse(stringify(pod)) as Pod; // what a YAML round trip leaves
        assert.deepEqual(await viaInject(plain, namespace, policyFile), await viaWebhook(plain, namespace));
      }),
      { numRuns: 60 },
    );
  });
});
