import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cli } from "../fixtures/run-cli.js";
import { CLI } from "../fixtures/serve-process.js";

// The certs commands under faults: SIGKILL at every file-system step, two runs at once, a full
// disk, a read-only target. Whatever happens, a reader (certs verify, or istiod reading the
// files) finds either the whole old set or the whole new one, and a re-run finishes the job.

const hasStrace = spawnSync("strace", ["-V"]).status === 0;
const stracePolicy = hasStrace ? false : process.env["MESH_TAILOR_REQUIRE_STRACE"] ? false : "strace is not installed (CI installs it)";
if (!hasStrace && process.env["MESH_TAILOR_REQUIRE_STRACE"]) throw new Error("MESH_TAILOR_REQUIRE_STRACE is set but strace is not on the PATH");

// The system calls by which a run changes the disk. Each is failed in turn with SIGKILL, at its
// first, second, ... call, until a run gets through without reaching that call.
const STEPS = ["mkdir", "chmod", "fsync", "link", "symlink", "rename", "unlink", "rmdir"] as const;

const temp = (): string => mkdtempSync(join(tmpdir(), "mesh-tailor-faults-"));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** The CLI in its own process; with KILL_AT, SIGKILLed by strace at that system call's Nth call. */
function run(args: string[], killAt?: { syscall: string; nth: number }): Promise<Run> {
  const argv = killAt
    ? ["strace", ["-f", "-qq", "-o", "/dev/null", "-e", `inject=${killAt.syscall}:signal=KILL:when=${killAt.nth}`, process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
  // One thread-pool thread: strace counts calls per thread, so the Nth call is the Nth step.
  const child = spawn(argv[0] as string, argv[1] as string[], { env: { ...process.env, UV_THREADPOOL_SIZE: "1" }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stderr })));
}

// strace reports the traced program's death by SIGKILL as its own exit status 137.
const killed = (result: Run): boolean => result.signal === "SIGKILL" || result.code === 137;

/** What a reader sees: every file through the set's links (a dangling link reads as absent), hashed with its mode. */
function view(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      if (name.startsWith("..")) continue;
      const path = join(d, name);
      if (!existsSync(path)) continue;
      if (statSync(path).isDirectory()) walk(path);
      else result[path.slice(dir.length)] = `${createHash("sha256").update(readFileSync(path)).digest("hex")} ${(statSync(path).mode & 0o777).toString(8)}`;
    }
  };
  walk(dir);
  return result;
}

async function verified(dir: string): Promise<boolean> {
  const result = await cli(["certs", "verify", "--dir", dir]);
  return result.code === 0;
}

/** Runs a pool of async jobs, two at a time (the machine has two cores). */
async function inPairs<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await jobs[index]!();
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

/**
 * For every step and every call of it, kills ARGS there against a copy of SEED's directory, then
 * checks CHECK(dir, before). Returns how many kill points were tried.
 */
async function killAtEveryStep(
  seed: (dir: string) => Promise<void>,
  args: (dir: string) => string[],
  check: (dir: string, before: Record<string, string>, label: string) => Promise<void>,
): Promise<number> {
  let tried = 0;
  for (const syscall of STEPS) {
    for (let batch = 1; ; batch += 2) {
      const outcomes = await inPairs(
        [batch, batch + 1].map((nth) => async () => {
          const dir = join(temp(), "set");
          await seed(dir);
          const before = view(dir);
          const result = await run(args(dir), { syscall, nth });
          if (killed(result)) await check(dir, before, `killed at ${syscall} #${nth}`);
          else assert.equal(result.code, 0, `${syscall} #${nth}: ${result.stderr}`);
          rmSync(join(dir, ".."), { recursive: true, force: true });
          return killed(result);
        }),
      );
      tried += outcomes.filter(Boolean).length;
      if (!outcomes.every(Boolean)) break;
    }
  }
  return tried;
}

const bootstrapArgs = (dir: string, ...extra: string[]) => ["certs", "bootstrap", "--out", dir, "--clusters", "east", "--key-size", "2048", ...extra];

async function seedBootstrap(dir: string): Promise<void> {
  const seeded = await cli(bootstrapArgs(dir));
  assert.equal(seeded.code, 0, seeded.stderr);
}

describe("certs under faults", { skip: stracePolicy, timeout: 900_000 }, () => {
  it("bootstrap killed at any step leaves nothing or the whole set, and a re-run completes it", async () => {
    const tried = await killAtEveryStep(
      (dir) => {
        mkdirSync(join(dir, ".."), { recursive: true });
        return Promise.resolve();
      },
      (dir) => bootstrapArgs(dir),
      async (dir, _before, label) => {
        const nothing = Object.keys(view(dir)).length === 0;
        assert.ok(nothing || (await verified(dir)), `${label}: a partial set: ${JSON.stringify(view(dir))}`);
        const rerun = await cli(bootstrapArgs(dir));
        assert.equal(rerun.code, nothing ? 0 : 1, `${label}: re-run: ${rerun.stderr}`);
        assert.ok(await verified(dir), `${label}: after the re-run`);
      },
    );
    assert.ok(tried >= 20, `only ${tried} kill points were reached`);
  });

  it("bootstrap --force killed at any step leaves the whole old set or the whole new one", async () => {
    const tried = await killAtEveryStep(
      seedBootstrap,
      (dir) => bootstrapArgs(dir, "--force"),
      async (dir, before, label) => {
        const after = view(dir);
        const old = JSON.stringify(after) === JSON.stringify(before);
        assert.ok(old || ((await verified(dir)) && after["/root-cert.pem"] !== before["/root-cert.pem"]), `${label}: neither the old set nor a whole new one`);
        assert.ok(await verified(dir), label);
      },
    );
    assert.ok(tried >= 20, `only ${tried} kill points were reached`);
  });

  it("add-cluster killed at any step leaves the old clusters untouched and the new one whole or absent", async () => {
    const tried = await killAtEveryStep(
      seedBootstrap,
      (dir) => ["certs", "add-cluster", "--out", dir, "--cluster", "west", "--key-size", "2048"],
      async (dir, before, label) => {
        const after = view(dir);
        for (const [path, hash] of Object.entries(before)) assert.equal(after[path], hash, `${label}: ${path} changed`);
        const west = Object.keys(after).filter((p) => p.startsWith("/west/"));
        assert.ok(west.length === 0 || west.length === 5, `${label}: west has ${west.length} of 5 files`);
        assert.ok(await verified(dir), label);
        if (west.length === 0)
          assert.equal((await cli(["certs", "add-cluster", "--out", dir, "--cluster", "west", "--key-size", "2048"])).code, 0, `${label}: re-run`);
      },
    );
    assert.ok(tried >= 20, `only ${tried} kill points were reached`);
  });
});

describe("certs runs at the same time", { timeout: 300_000 }, () => {
  it("two bootstraps into one directory: exactly one succeeds, and its set is the one on disk", async () => {
    for (let round = 0; round < 8; round++) {
      const dir = join(temp(), "mesh");
      const [a, b] = await Promise.all([run(bootstrapArgs(dir)), run(bootstrapArgs(dir))]);
      assert.deepEqual([a.code, b.code].sort(), [0, 1], `round ${round}: ${a.stderr}\n${b.stderr}`);
      const loser = a.code === 1 ? a : b;
      assert.match(loser.stderr, /another mesh-tailor certs run|exist/);
      assert.ok(await verified(dir));
    }
  });

  it("two add-clusters at once never lose each other's cluster", async () => {
    for (let round = 0; round < 4; round++) {
      const dir = join(temp(), "mesh");
      await seedBootstrap(dir);
      const before = view(dir);
      const [west, north] = await Promise.all(
        ["west", "north"].map((cluster) => run(["certs", "add-cluster", "--out", dir, "--cluster", cluster, "--key-size", "2048"])),
      );
      const after = view(dir);
      for (const [path, hash] of Object.entries(before)) assert.equal(after[path], hash);
      if (west!.code === 0) assert.ok(after["/west/ca-cert.pem"], "west reported success and is on disk");
      if (north!.code === 0) assert.ok(after["/north/ca-cert.pem"], "north reported success and is on disk");
      for (const result of [west!, north!]) if (result.code !== 0) assert.match(result.stderr, /another mesh-tailor certs run/);
      assert.ok(await verified(dir));
    }
  });
});

// A small or read-only file system of its own needs mount(2): root with CAP_SYS_ADMIN (CI has it).
function mountTmpfs(options: string): string | undefined {
  const point = temp();
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", point]);
  return mounted.status === 0 ? point : undefined;
}
const canMount = (() => {
  const point = mountTmpfs("size=64k");
  if (!point) return false;
  execFileSync("umount", [point]);
  return true;
})();
const mountPolicy = canMount ? false : process.env["MESH_TAILOR_REQUIRE_MOUNT"] ? false : "mounting a tmpfs needs root (CI runs as root)";

describe("certs on a full or read-only disk", { skip: mountPolicy }, () => {
  it("a full disk: exit 1 naming ENOSPC, and nothing left behind", async () => {
    const point = mountTmpfs("size=16k")!;
    try {
      const dir = join(point, "mesh");
      const result = await cli(["certs", "bootstrap", "--out", dir, "--clusters", "east,west,north,south", "--key-size", "4096"]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /ENOSPC/);
      assert.deepEqual(readdirSync(point), [], "no temporary file, version or empty directory is left");
    } finally {
      execFileSync("umount", [point]);
    }
  });

  it("a read-only target: exit 1 naming EROFS (the directory is checked before any key is generated)", async () => {
    const point = mountTmpfs("ro")!;
    try {
      const result = await cli(["certs", "bootstrap", "--out", join(point, "mesh"), "--clusters", "east", "--key-size", "2048"]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /EROFS/);
    } finally {
      execFileSync("umount", [point]);
    }
  });
});
