import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import request from "supertest";
import * as meshTailor from "../src/keys/mesh-tailor.js";
import { createLogger } from "../src/logging/logger.js";
import type { CompiledPolicy } from "../src/policy/load.js";
import { createApp } from "../src/server/app.js";
import { Metrics } from "../src/server/metrics.js";
import { appPod, migratingPolicy } from "./fixtures/pods.js";
import { decodePatch, podCreateReview, type AnsweredReview, type Refusal } from "./fixtures/reviews.js";

function appUnderTest(
  options: { policy?: CompiledPolicy | (() => CompiledPolicy); notReady?: string[]; bodyLimit?: number; bufferedBodiesLimit?: number } = {},
) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const metrics = new Metrics({ processMetrics: false });
  const policy = options.policy ?? migratingPolicy();
  const app = createApp({
    logger: createLogger({ level: "info", destination }),
    metrics,
    currentPolicy: typeof policy === "function" ? policy : () => policy,
    notReadyReasons: () => options.notReady ?? [],
    limits: {
      ...(options.bodyLimit ? { bodyBytes: options.bodyLimit } : {}),
      ...(options.bufferedBodiesLimit ? { bufferedBodiesBytes: options.bufferedBodiesLimit, bufferedBodiesPerAddressBytes: options.bufferedBodiesLimit } : {}),
    },
  });
  return { app, metrics, lines };
}

const metricValue = async (metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> => {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const sample = (metric?.values ?? []).find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return Number(sample?.value ?? 0);
};

describe("HTTP routes", () => {
  it("answers a failure past every guard with 500, counts it, and keeps serving", async () => {
    const { app, metrics, lines } = appUnderTest();
    const observe = metrics.duration.labels.bind(metrics.duration);
    let broken = true;
    metrics.duration.labels = ((...args: Parameters<typeof observe>) => {
      if (broken) throw new Error("metrics backend broke");
      return observe(...args);
    }) as typeof metrics.duration.labels;
    const failed = await request(app)
      .post("/mutate")
      .send(podCreateReview(appPod(), { uid: "uid-broken" }))
      .expect(500);
    assert.equal((failed.body as Refusal).error, "internal error");
    assert.equal(await metricValue(metrics, "mesh_tailor_handler_panics_total", {}), 1);
    assert.ok(lines.some((l) => l["msg"] === "admission request failed"));
    broken = false;
    await request(app)
      .post("/mutate")
      .send(podCreateReview(appPod(), { uid: "uid-after" }))
      .expect(200);
  });

  it("POST /mutate answers a v1 review in v1 with the patch and logs one admission line", async () => {
    const { app, lines } = appUnderTest();
    const response = await request(app)
      .post("/mutate")
      .send(podCreateReview(appPod(), { uid: "uid-1" }))
      .expect(200)
      .expect("content-type", /json/);
    const review = response.body as AnsweredReview;
    assert.equal(review.apiVersion, "admission.k8s.io/v1");
    assert.equal(review.kind, "AdmissionReview");
    assert.equal(review.response.uid, "uid-1");
    assert.ok(decodePatch(review.response.patch).some((op) => op.path === `/metadata/annotations/${meshTailor.APPLIED.replace("/", "~1")}`));
    const admission = lines.filter((l) => l["msg"] === "admission");
    assert.equal(admission.length, 1);
    const fields = admission[0]!["admission"] as Record<string, unknown>;
    assert.equal(fields["uid"], "uid-1");
    assert.equal(fields["namespace"], "shop");
    assert.equal(fields["workload"], "Deployment/reviews");
    assert.deepEqual(fields["mutations"], ["inject", "hold", "branch"]);
    assert.equal(typeof fields["durationMs"], "number");
  });

  it("logs the text of the warnings an admission answers with, bounded", async () => {
    const { app, lines } = appUnderTest();
    // A user's own branch and inject label, both overridden or kept with a warning.
    const pod = appPod({ labels: { branch: "feature-x", "sidecar.istio.io/inject": "false" } });
    const response = await request(app)
      .post("/mutate")
      .send(podCreateReview(pod, { uid: "uid-w" }))
      .expect(200);
    const warnings = (response.body as AnsweredReview).response.warnings ?? [];
    assert.ok(warnings.length > 0, "the pod earns warnings");
    const fields = lines.find((l) => l["msg"] === "admission")!["admission"] as Record<string, unknown>;
    assert.deepEqual(fields["warnings"], warnings, "the log line carries what kubectl prints");
  });

  it("POST /mutate answers a v1beta1 review in v1beta1", async () => {
    const { app } = appUnderTest();
    const response = await request(app)
      .post("/mutate")
      .send(podCreateReview(appPod(), { version: "admission.k8s.io/v1beta1" }))
      .expect(200);
    const review = response.body as AnsweredReview;
    assert.equal(review.apiVersion, "admission.k8s.io/v1beta1");
    assert.equal(review.response.allowed, true);
  });

  it("carries warnings kubectl will print", async () => {
    const { app } = appUnderTest();
    const pod = appPod({ labels: { "sidecar.istio.io/inject": "false" } });
    const response = await request(app).post("/mutate").send(podCreateReview(pod)).expect(200);
    assert.match((response.body as AnsweredReview).response.warnings![0]!, /wins over the policy/);
  });

  describe("bad input gets a 4xx with a JSON message, never a 5xx", () => {
    const rows: [string, (r: request.Test) => request.Test, number, RegExp][] = [
      ["a non-JSON body", (r) => r.set("Content-Type", "application/json").send("{not json"), 400, /not valid JSON/],
      ["a wrong content type", (r) => r.set("Content-Type", "text/plain").send("hello"), 415, /Content-Type must be application\/json/],
      ["no content type", (r) => r.send(Buffer.from("{}")), 415, /Content-Type/],
      ["an AdmissionReview with no request", (r) => r.send({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }), 400, /no request object/],
      ["a request with no uid", (r) => r.send({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: {} }), 400, /request.uid/],
      ["a JSON value that is not an object", (r) => r.send([1, 2]), 400, /JSON object/],
      ["a JSON scalar", (r) => r.set("Content-Type", "application/json").send("42"), 400, /JSON object/],
      ["an unsupported body encoding", (r) => r.set("Content-Type", "application/json").set("Content-Encoding", "br-x").send("{}"), 415, /encoding/i],
      ["a compressed body", (r) => r.set("Content-Type", "application/json").set("Content-Encoding", "gzip").send("{}"), 415, /uncompressed/],
      ["a charset other than UTF-8", (r) => r.set("Content-Type", "application/json; charset=latin1").send("{}"), 415, /UTF-8/],
    ];
    for (const [name, build, status, message] of rows) {
      it(name, async () => {
        const { app, metrics } = appUnderTest();
        const response = await build(request(app).post("/mutate")).expect(status).expect("content-type", /json/);
        const refusal = response.body as Refusal;
        assert.match(refusal.error, message);
        assert.equal(refusal.status, status);
        assert.equal(await metricValue(metrics, "mesh_tailor_admission_requests_total", { outcome: "bad_request" }), 1);
      });
    }
    it("a body over the limit", async () => {
      const { app } = appUnderTest({ bodyLimit: 1024 });
      const pod = appPod({ annotations: { big: "x".repeat(4096) } });
      const response = await request(app).post("/mutate").send(podCreateReview(pod)).expect(413);
      assert.match((response.body as Refusal).error, /larger than the 1024-byte limit/);
    });
    it("the default limit admits a large pod but refuses more than 7 MiB", async () => {
      const { app } = appUnderTest();
      await request(app)
        .post("/mutate")
        .send(podCreateReview(appPod({ annotations: { big: "x".repeat(2 * 1024 * 1024) } })))
        .expect(200);
      await request(app)
        .post("/mutate")
        .send(podCreateReview(appPod({ annotations: { big: "x".repeat(7.5 * 1024 * 1024) } })))
        .expect(413);
    });
    it("GET /mutate", async () => {
      const { app } = appUnderTest();
      const response = await request(app).get("/mutate").expect(405).expect("allow", "POST");
      assert.match((response.body as Refusal).error, /use POST/);
    });
    it("an unknown path", async () => {
      const { app } = appUnderTest();
      const response = await request(app).get("/nope").expect(404);
      assert.match((response.body as Refusal).error, /routes: POST \/mutate/);
    });
  });

  describe("values chosen by the caller never make an answer or a log line large, or a 5xx", () => {
    const send = (app: ReturnType<typeof appUnderTest>["app"], text: string) => request(app).post("/mutate").set("Content-Type", "application/json").send(text);

    it("a kind nested 100,000 deep is refused with 400, not a stack overflow", async () => {
      const { app } = appUnderTest();
      const deep = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`;
      const response = await send(app, `{"apiVersion":"admission.k8s.io/v1","kind":${deep},"request":{"uid":"u"}}`).expect(400);
      assert.match((response.body as Refusal).error, /kind must be "AdmissionReview", got a JSON object/);
    });

    it("a 6 MB kind is quoted in at most a few dozen characters, in the answer and the log", async () => {
      const { app, lines } = appUnderTest();
      const response = await send(app, JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "K".repeat(6_000_000), request: { uid: "u" } })).expect(400);
      assert.ok(response.text.length < 1_000, `answer of ${response.text.length} bytes`);
      assert.ok(JSON.stringify(lines.at(-1)).length < 2_000, `log line of ${JSON.stringify(lines.at(-1)).length} bytes`);
    });

    it("a uid kube-apiserver could not have sent is refused, not echoed", async () => {
      const { app } = appUnderTest();
      const response = await send(app, JSON.stringify(podCreateReview(appPod(), { uid: "u".repeat(1_000_000) }))).expect(400);
      assert.match((response.body as Refusal).error, /request.uid must be at most 128 characters/);
      assert.ok(response.text.length < 1_000);
    });

    it("a huge namespace or label reaches the admission log line cut short", async () => {
      const { app, lines } = appUnderTest();
      const pod = appPod({ labels: { app: "r".repeat(3_000_000) } });
      await request(app)
        .post("/mutate")
        .send(podCreateReview(pod, { namespace: "n".repeat(3_000_000) }))
        .expect(200);
      const line = JSON.stringify(lines.find((l) => l["msg"] === "admission"));
      assert.ok(line.length < 2_000, `log line of ${line.length} bytes`);
    });
  });

  it("admits the pod unchanged, with a warning and a metric, when the handler itself fails", async () => {
    const { app, metrics } = appUnderTest({
      policy: () => {
        throw new Error("policy exploded");
      },
    });
    const response = await request(app)
      .post("/mutate")
      .send(podCreateReview(appPod(), { uid: "u-err" }))
      .expect(200);
    const review = response.body as AnsweredReview;
    assert.deepEqual(Object.keys(review.response).sort(), ["allowed", "uid", "warnings"]);
    assert.equal(review.response.uid, "u-err");
    assert.match(review.response.warnings![0]!, /internal error, pod admitted without customization \(policy exploded\)/);
    assert.equal(await metricValue(metrics, "mesh_tailor_handler_panics_total", {}), 1);
  });

  it("GET /healthz says the process is alive", async () => {
    const { app } = appUnderTest({ notReady: ["shutting down"] });
    await request(app).get("/healthz").expect(200, { status: "ok" });
  });

  it("GET /readyz is 200 when ready and 503 with reasons when not", async () => {
    await request(appUnderTest().app).get("/readyz").expect(200, { status: "ready" });
    await request(appUnderTest({ notReady: ["shutting down"] }).app)
      .get("/readyz")
      .expect(503, { status: "not ready", reasons: ["shutting down"] });
  });

  it("GET /metrics exports requests by outcome, latency, mutations, reloads and in-flight", async () => {
    const { app } = appUnderTest();
    await request(app).post("/mutate").send(podCreateReview(appPod())).expect(200);
    const text = (
      await request(app)
        .get("/metrics")
        .expect(200)
        .expect("content-type", /text\/plain/)
    ).text;
    assert.match(text, /mesh_tailor_admission_requests_total\{outcome="mutated"\} 1/);
    // The one admission is in the histogram; how long it took depends on the machine, not on the code.
    assert.match(text, /mesh_tailor_admission_duration_seconds_bucket\{le="\+Inf",outcome="mutated"\} 1/);
    assert.match(text, /mesh_tailor_admission_duration_seconds_count\{outcome="mutated"\} 1/);
    assert.match(text, /mesh_tailor_mutations_applied_total\{mutation="inject"\} 1/);
    assert.match(text, /mesh_tailor_reloads_total\{kind="policy",result="failure"\} 0/);
    assert.match(text, /mesh_tailor_admission_in_flight_requests 0/);
  });
});
