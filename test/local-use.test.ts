import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import fastJsonPatch from "fast-json-patch";
import { parse as parseYaml } from "yaml";
import { chooseLogFormat } from "../src/logging/logger.js";
import type { Pod } from "../src/pod/types.js";
import { loadPolicy } from "../src/policy/load.js";
import type { AnsweredReview } from "./fixtures/reviews.js";
import { cli } from "./fixtures/run-cli.js";
import { spawnCommand, type LogLine } from "./fixtures/serve-process.js";

const { applyPatch } = fastJsonPatch;
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const example = (name: string) => join(ROOT, "examples", name);
// eslint-disable-next-line no-control-regex -- a terminal colour code starts with the ESC control character
const ANSI = /\u001b\[[0-9;]*m/g;
const text = (logs: LogLine[]) =>
  logs
    .map((l) => String(l["msg"] ?? ""))
    .join("\n")
    .replace(ANSI, "");

function post(url: string, ca: string, body: string): Promise<{ status: number; json: AnsweredReview }> {
  return new Promise((done, fail) => {
    const req = request(url, { method: "POST", ca, headers: { "content-type": "application/json" } }, (res) => {
      let data = "";
      res.on("data", (chunk) => (data += chunk));
      res.on("end", () => done({ status: res.statusCode ?? 0, json: JSON.parse(data) as AnsweredReview }));
    });
    req.on("error", fail);
    req.end(body);
  });
}

describe("examples/", () => {
  it("holds a policy of a real migration that validates: a migrated service, a canary revision, Host passthrough, a rollback, sandboxes", () => {
    const { policy } = loadPolicy(readFileSync(example("policy.yaml"), "utf8"));
    assert.ok(policy.services.some((s) => s.revision === "canary"));
    assert.ok(policy.services.some((s) => s.hostPassthrough === "both"));
    assert.ok(policy.services.some((s) => s.inject === false));
    assert.equal(policy.sandbox.enabled, true);
  });

  it("has a Deployment that `inject` previews under that policy", async () => {
    const run = await cli(["inject", "-f", example("deployment.yaml"), "--config", example("policy.yaml")]);
    assert.equal(run.code, 0, run.stderr);
    const labels = (parseYaml(run.stdout) as { spec: { template: Pod } }).spec.template.metadata!.labels!;
    assert.equal(labels["sidecar.istio.io/inject"], "true");
    assert.equal(labels["istio.io/rev"], "canary");
  });
});

describe("npm start, as a new user runs it", () => {
  it("prints readable lines, no certificate, and a curl line whose AdmissionReview (examples/) is admitted with the policy's changes", async () => {
    const serve = await spawnCommand("serve", ["--port", "0", "--config", example("policy.yaml")], (logs) => /development mode/.test(text(logs)), 20_000, {
      ...process.env,
      LOG_FORMAT: "pretty",
    });
    try {
      const printed = text(serve.logs);
      assert.ok(!serve.logs.some((l) => l["level"] !== undefined), "no JSON log line");
      assert.doesNotMatch(printed, /BEGIN CERTIFICATE/);
      const curl = /curl --cacert (\S+) -H 'Content-Type: application\/json' --data @(\S+) (https:\/\/localhost:\d+\/mutate)/.exec(printed);
      assert.ok(curl, `a curl line for /mutate in:\n${printed}`);
      const [, caFile, reviewFile, url] = curl;
      assert.equal(reviewFile, "examples/admission-review.json");
      const answer = await post(url!, readFileSync(caFile!, "utf8"), readFileSync(join(ROOT, reviewFile), "utf8"));
      assert.equal(answer.status, 200);
      assert.equal(answer.json.response.allowed, true);
      const patch = JSON.parse(Buffer.from(answer.json.response.patch!, "base64").toString("utf8")) as fastJsonPatch.Operation[];
      const review = JSON.parse(readFileSync(join(ROOT, reviewFile), "utf8")) as { request: { object: Pod } };
      const pod = applyPatch(review.request.object, patch, true, false).newDocument;
      assert.equal(pod.metadata!.labels!["istio.io/rev"], "canary", "reviews is put on the canary revision");
      assert.equal(pod.metadata!.labels!["sidecar.istio.io/inject"], "true");
    } finally {
      await serve.stop();
    }
  });

  it("logs readable lines on a real terminal and JSON when piped", async () => {
    assert.equal(chooseLogFormat({}, true), "pretty");
    assert.equal(chooseLogFormat({}, false), "json");
    assert.equal(chooseLogFormat({ LOG_FORMAT: "json" }, true), "json");
    // `script` gives the command a pseudo-terminal, as a shell would.
    const { CLI } = await import("./fixtures/serve-process.js");
    const env = { ...process.env };
    delete env["LOG_FORMAT"];
    const child = spawn("script", ["-qfec", `exec ${process.execPath} ${CLI} serve --port 0`, "/dev/null"], { env, stdio: ["pipe", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    try {
      await new Promise<void>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`no "mesh-tailor serving" line within 20 s on a terminal:\n${output}`)), 20_000);
        child.stdout.on("data", () => {
          if (/mesh-tailor serving/.test(output)) {
            clearTimeout(timer);
            done();
          }
        });
        child.once("exit", (code) => fail(new Error(`serve exited with ${code}:\n${output}`)));
      });
      const line = output
        .replace(ANSI, "")
        .split("\n")
        .find((l) => l.includes("mesh-tailor serving"))!;
      assert.match(line, /INFO.*mesh-tailor serving/);
      assert.ok(!line.trimStart().startsWith("{"), "not a JSON line");
    } finally {
      // serve runs under `script`, which would only hang up on it (SIGHUP reloads): stop serve itself.
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
      for (const pid of children) process.kill(Number(pid), "SIGTERM");
      child.kill("SIGTERM");
    }
  });
});

describe("kubectl-mesh_tailor", () => {
  it("runs the CLI as `kubectl mesh-tailor`", () => {
    const { bin } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string> };
    assert.equal(bin["kubectl-mesh_tailor"], bin["mesh-tailor"]);
    const target = resolve(ROOT, bin["kubectl-mesh_tailor"]!);
    chmodSync(target, 0o755); // npm sets the mode when it installs the bin; tsc does not.
    const plugins = mkdtempSync(join(tmpdir(), "kubectl-plugins-"));
    try {
      symlinkSync(target, join(plugins, "kubectl-mesh_tailor"));
      const env = { ...process.env, PATH: `${plugins}${delimiter}${process.env["PATH"] ?? ""}` };
      const run = spawnSync("kubectl", ["mesh-tailor", "policy", "validate", example("policy.yaml")], { env, encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /valid \(4 service entries/);
    } finally {
      rmSync(plugins, { recursive: true, force: true });
    }
  });
});
