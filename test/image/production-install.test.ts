import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { issueServingBundle, type ServingBundle } from "../../src/certs/serving.js";
import type { AnsweredReview } from "../fixtures/reviews.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const UID = 65532;

// Runs COMMAND the way the manifests run the image: in a mount namespace of its own where every
// file system is read-only (readOnlyRootFilesystem; /proc, /sys and /dev stay as a pod has them),
// as UID/GID 65532 with no other groups.
// WRITABLE, when set, is an emptyDir: a tmpfs of the pod's user mounted there afterwards.
const SANDBOX = `set -e
mount --make-rprivate /
for point in $(awk '{print $2}' /proc/self/mounts | grep -vE '^/(proc|sys|dev)(/|$)'); do
  mount -o remount,bind,ro "$point" 2>/dev/null || true
done
if [ -n "$WRITABLE" ]; then mount -t tmpfs -o size=1m,uid=${UID},gid=${UID},mode=0700 tmpfs "$WRITABLE"; fi
exec setpriv --reuid=${UID} --regid=${UID} --clear-groups "$@"`;

const sandboxed = (command: string[], writable = "") =>
  ["env", [`WRITABLE=${writable}`, "unshare", "--mount", "--propagation", "private", "sh", "-c", SANDBOX, "sandbox", ...command]] as const;

const canSandbox = process.getuid?.() === 0 && spawnSync("unshare", ["--mount", "true"]).status === 0;
const skip = canSandbox ? false : process.env["MESH_TAILOR_REQUIRE_MOUNT"] ? false : "needs root and unshare(1) for a read-only mount namespace (CI has both)";

/** The Dockerfile's two stages, on this machine: build with the dev dependencies, ship the production ones (no optional ones). */
function buildImage(into: string): string {
  const build = join(into, "build");
  mkdirSync(build);
  for (const file of ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json"]) cpSync(join(ROOT, file), join(build, file));
  cpSync(join(ROOT, "src"), join(build, "src"), { recursive: true });
  const npm = (...args: string[]) => execFileSync("npm", args, { cwd: build, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NODE_ENV: "" } });
  npm("ci", "--no-audit", "--no-fund");
  npm("run", "build");
  npm("prune", "--omit=dev", "--omit=optional");
  const app = join(into, "app");
  mkdirSync(app);
  for (const path of ["package.json", "node_modules", "dist/src"]) cpSync(join(build, path), join(app, path), { recursive: true });
  cpSync(join(ROOT, "lua"), join(app, "lua"), { recursive: true });
  rmSync(build, { recursive: true, force: true });
  return app;
}

function post(port: number, ca: string, body: string): Promise<{ status: number; json: AnsweredReview }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/mutate", method: "POST", ca, servername: "localhost", headers: { "content-type": "application/json" } },
      (res) => {
        let data = "";
        res.on("data", (chunk) => (data += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(data) as AnsweredReview }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("the image as it ships: production dependencies only, UID 65532, read-only file systems", { skip, timeout: 600_000 }, () => {
  let dir: string;
  let app: string;
  let tls: ServingBundle;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "mesh-tailor-image-"));
    chmodSync(dir, 0o755);
    app = buildImage(dir);
    // The mounted volumes: the TLS Secret and the policy ConfigMap, readable by the pod's user.
    tls = await issueServingBundle({ hosts: ["localhost", "127.0.0.1"], days: 1 });
    mkdirSync(join(dir, "tls"));
    writeFileSync(join(dir, "tls", "tls.crt"), tls.certPem);
    writeFileSync(join(dir, "tls", "tls.key"), tls.keyPem, { mode: 0o600 });
    chownSync(join(dir, "tls", "tls.key"), UID, UID);
    mkdirSync(join(dir, "policy"));
    cpSync(join(ROOT, "examples", "policy.yaml"), join(dir, "policy", "policy.yaml"));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("ships the build tools and test libraries nowhere", () => {
    // (@types/node stays: @kubernetes/client-node depends on it.)
    for (const name of ["typescript", "fast-check", "supertest", "autocannon", "kubernetes-models"]) {
      assert.throws(() => readFileSync(join(app, "node_modules", name, "package.json")), `${name} is not shipped`);
    }
    assert.ok(readFileSync(join(app, "node_modules", "express", "package.json")), "the runtime ones are");
  });

  it("ships recheck without its native binary or Java, and checks namespace patterns with it", () => {
    for (const name of ["recheck-jar", "recheck-linux-x64"]) {
      assert.throws(() => readFileSync(join(app, "node_modules", name, "package.json")), `${name} is not shipped`);
    }
    const policy = join(dir, "policy", "backtracking.yaml");
    writeFileSync(
      policy,
      'apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nsandbox:\n  namespacePattern: "^(?<base>([a-z0-9]+-?)+)--(?<branch>box-[a-z0-9]+)$"\n',
    );
    const [command, args] = sandboxed([process.execPath, join(app, "dist/src/cli/main.js"), "policy", "validate", policy]);
    const result = spawnSync(command, args, { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", NODE_ENV: "production" } });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /sandbox\.namespacePattern: backtracks in exponential time/);
  });

  it("really is read-only for UID 65532 (the check is real)", () => {
    const [command, args] = sandboxed(["sh", "-c", `id -u; touch ${join(dir, "probe")} /tmp/mesh-tailor-probe`]);
    const result = spawnSync(command, args, { encoding: "utf8" });
    assert.notEqual(result.status, 0);
    assert.match(result.stdout, /^65532/);
    assert.match(result.stderr, /Read-only file system/);
  });

  it("runs the chart's certificate hook command with only its emptyDir writable", () => {
    const work = join(dir, "work");
    mkdirSync(work);
    const [command, args] = sandboxed(
      [
        process.execPath,
        join(app, "dist/src/cli/main.js"),
        "certs",
        "webhook",
        `--out=${join(work, "certs")}`,
        "--service=mesh-tailor",
        "--namespace=mesh-tailor",
      ],
      work,
    );
    const result = spawnSync(command, args, { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", NODE_ENV: "production" } });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /wrote the webhook's CA and serving certificate/);
    assert.match(result.stdout.trim(), /^[A-Za-z0-9+/]+=*$/, "the caBundle on stdout");
  });

  it("starts serve, answers an admission and drains on SIGTERM", async () => {
    const [command, args] = sandboxed([
      process.execPath,
      join(app, "dist/src/cli/main.js"),
      "serve",
      "--port=0",
      "--host=127.0.0.1",
      `--tls-cert=${join(dir, "tls", "tls.crt")}`,
      `--tls-key=${join(dir, "tls", "tls.key")}`,
      `--config=${join(dir, "policy", "policy.yaml")}`,
    ]);
    const child = spawn(command, args, { env: { PATH: process.env["PATH"] ?? "", NODE_ENV: "production" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "mesh-tailor serving" line within 30 s:\n${stdout}\n${stderr}`)), 30_000);
        child.stdout.on("data", () => {
          const line = stdout.split("\n").find((l) => l.includes('"mesh-tailor serving"'));
          if (line) {
            clearTimeout(timer);
            resolve((JSON.parse(line) as { port: number }).port);
          }
        });
        void exited.then((code) => reject(new Error(`serve exited with ${code}:\n${stdout}\n${stderr}`)));
      });
      const answer = await post(port, tls.caPem, readFileSync(join(ROOT, "examples", "admission-review.json"), "utf8"));
      assert.equal(answer.status, 200);
      assert.equal(answer.json.response.allowed, true);
      assert.ok(answer.json.response.patch, "a patch for the reviews pod");
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0, stderr);
    assert.doesNotMatch(stdout + stderr, /EROFS|EACCES|Cannot find (module|package)/);
  });
});
