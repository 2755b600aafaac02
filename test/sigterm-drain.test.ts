import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { appPod } from "./fixtures/pods.js";
import { podCreateReview, type AnsweredReview } from "./fixtures/reviews.js";
import { spawnServe, startServe, type LogLine } from "./fixtures/serve-process.js";

function get(port: number, ca: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpsRequest({ host: "127.0.0.1", port, path, ca, servername: "localhost", agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on("error", reject)
      .end();
  });
}

describe("SIGTERM", () => {
  it("reports not ready, keeps serving through the delay, finishes in-flight requests, and exits 0", async () => {
    const { child, port, caFile, logs } = await startServe(["--shutdown-delay-seconds", "1", "--drain-timeout-seconds", "5"]);
    const ca = readFileSync(caFile, "utf8");
    assert.equal(await get(port, ca, "/readyz"), 200);

    // A request whose body is still arriving when the signal comes.
    const body = JSON.stringify(podCreateReview(appPod(), { uid: "in-flight" }));
    const inFlight = new Promise<{ status: number; uid: string }>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port,
          path: "/mutate",
          method: "POST",
          ca,
          servername: "localhost",
          agent: false,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          let data = "";
          res.on("data", (c) => (data += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, uid: (JSON.parse(data) as AnsweredReview).response.uid }));
        },
      );
      req.on("error", reject);
      req.write(body.slice(0, 100));
      setTimeout(() => req.end(body.slice(100)), 1500);
    });
    await new Promise((r) => setTimeout(r, 200));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await get(port, ca, "/readyz"), 503, "not ready during the delay");
    assert.equal(await get(port, ca, "/healthz"), 200, "still alive during the delay");

    assert.deepEqual(await inFlight, { status: 200, uid: "in-flight" });
    assert.equal(await exited, 0);
    assert.ok(logs.some((l) => l.msg === "shut down"));
    assert.equal(existsSync(caFile), false, "the development CA file is removed");
    assert.ok(!JSON.stringify(logs).includes("PRIVATE KEY"), "no key material in the logs");
  });
});

/** Polls the child's log lines until one matches, failing with what was awaited after the bound. */
async function logLine(logs: LogLine[], what: string, match: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = logs.find(match);
    if (line) return line;
    if (Date.now() > deadline) assert.fail(`no log line "${what}" within ${timeoutMs} ms: ${JSON.stringify(logs.map((l) => l.msg))}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// A policy large enough that loading it keeps start-up busy for a while.
function bigPolicyFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "mesh-tailor-signals-"));
  const services = Array.from({ length: 8_000 }, (_, i) => `  - namespace: "shop-${i}"\n    name: service-${i}\n`).join("");
  writeFileSync(join(dir, "policy.yaml"), `apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices:\n${services}`);
  return join(dir, "policy.yaml");
}

describe("signals", () => {
  it("drains in-flight requests even when a second SIGTERM comes during the delay", async () => {
    const { child, port, caFile, logs } = await startServe(["--shutdown-delay-seconds", "2", "--drain-timeout-seconds", "5"]);
    const ca = readFileSync(caFile, "utf8");
    const body = JSON.stringify(podCreateReview(appPod(), { uid: "second-signal" }));
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port,
          path: "/mutate",
          method: "POST",
          ca,
          servername: "localhost",
          agent: false,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.write(body.slice(0, 100));
      setTimeout(() => req.end(body.slice(100)), 1500);
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    await logLine(logs, "signal received", (l) => l.msg === "signal received");
    child.kill("SIGTERM");
    await logLine(logs, "already shutting down", (l) => String(l.msg).startsWith("already shutting down"));
    assert.equal(await inFlight, 200);
    assert.equal(await exited, 0);
    assert.ok(
      logs.some((l) => l.msg === "shut down"),
      "it drained",
    );
  });

  it("survives a SIGHUP while starting, then serves", async () => {
    const config = bigPolicyFile();
    const serve = await spawnServe(["--port", "0", "--host", "127.0.0.1", "--config", config], (logs) => logs.some((l) => l.msg === "mesh-tailor starting"));
    serve.child.kill("SIGHUP");
    await logLine(serve.logs, "mesh-tailor serving", (l) => l.msg === "mesh-tailor serving", 60_000);
    assert.equal(serve.child.exitCode, null, "still running");
    await serve.stop();
    assert.equal(serve.child.exitCode, 0);
    rmSync(dirname(config), { recursive: true, force: true });
  });

  it("stops cleanly once up when SIGTERM comes while starting", async () => {
    const config = bigPolicyFile();
    const serve = await spawnServe(["--port", "0", "--host", "127.0.0.1", "--config", config], (logs) => logs.some((l) => l.msg === "mesh-tailor starting"));
    const exited = new Promise<number | null>((resolve) => serve.child.on("exit", (code) => resolve(code)));
    serve.child.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.ok(serve.logs.some((l) => l.msg === "shut down"));
    rmSync(dirname(config), { recursive: true, force: true });
  });
});
