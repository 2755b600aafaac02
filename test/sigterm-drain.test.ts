import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { appPod } from "./fixtures/pods.js";
import { podCreateReview } from "./fixtures/reviews.js";
import { startServe } from "./fixtures/serve-process.js";

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
        { host: "127.0.0.1", port, path: "/mutate", method: "POST", ca, servername: "localhost", agent: false, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
        (res) => {
          let data = "";
          res.on("data", (c) => (data += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, uid: JSON.parse(data).response.uid }));
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
