import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import type { ObjectMeta, Pod } from "../src/pod/types.js";
import { loadPolicy } from "../src/policy/load.js";
import { COMMANDS } from "../src/cli/commands.js";
import type { PatchOperation } from "./fixtures/reviews.js";
import { cli } from "./fixtures/run-cli.js";
import { CLI } from "./fixtures/serve-process.js";

const dir = mkdtempSync(join(tmpdir(), "mesh-tailor-cli-"));
const file = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const POLICY = file(
  "policy.yaml",
  "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices:\n  - name: reviews\n    hostPassthrough: both\n  - name: nightly\n",
);

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: reviews
  namespace: shop
  annotations:
    example.com/owner~team: platform
spec:
  selector:
    matchLabels: {app: reviews}
  template:
    metadata:
      labels: {app: reviews}
    spec:
      containers:
        - name: app
          image: reviews:1
          lifecycle:
            preStop:
              exec: {command: [sleep, "30"]}
`;
const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: reviews
spec:
  ports: [{port: 9080, name: http}]
`;
const CRONJOB = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          nodeSelector: {topology.kubernetes.io/region: eu, topology.kubernetes.io/zone: eu-b}
          containers: [{name: job, image: job:1}]
`;

/** A workload as `inject` writes it, as far as these tests read it: its pod template is a Pod. */
type Workload = { metadata: ObjectMeta; spec: { template: Pod } };
type CronJob = { spec: { jobTemplate: { spec: { template: Pod } } } };

describe("the mesh-tailor CLI", () => {
  it("prints usage and exits 2 with no command, or an unknown one", async () => {
    const none = await cli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: mesh-tailor <command>/);
    const unknown = await cli(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
  });

  it("has --help on every command", async () => {
    for (const command of COMMANDS) {
      const run = await cli([command.name, "--help"]);
      assert.equal(run.code, 0, command.name);
      assert.match(run.stdout, /Usage:/, command.name);
    }
    const help = await cli(["--help"]);
    assert.equal(help.code, 0);
    // The longest name still stands apart from its summary.
    assert.match(help.stdout, /^ {2}namespaces {2}enable, disable and list/m);
  });

  it("has --help on every certs subcommand, and refuses stray arguments with exit 2", async () => {
    for (const sub of ["bootstrap", "add-cluster", "webhook", "verify"]) {
      const help = await cli(["certs", sub, "--help"]);
      assert.equal(help.code, 0, sub);
      assert.match(help.stdout, new RegExp(`Usage: mesh-tailor certs ${sub}`), sub);
    }
    for (const argv of [
      ["serve", "extra"],
      ["inject", "-f", "-", "extra"],
      ["certs", "verify", "--dir", ".", "extra"],
    ]) {
      const run = await cli(argv);
      assert.equal(run.code, 2, argv.join(" "));
      assert.match(run.stderr, /Unexpected argument 'extra'/, argv.join(" "));
    }
  });

  it("exits 2 naming an unknown flag or a bad value", async () => {
    const flag = await cli(["serve", "--prot", "1"]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /Unknown option '--prot'/);
    assert.match(flag.stderr, /mesh-tailor serve --help/);
    const port = await cli(["serve", "--port", "eighty"]);
    assert.equal(port.code, 2);
    assert.match(port.stderr, /--port must be a whole number/);
    const half = await cli(["serve", "--tls-cert", "x.pem"]);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /--tls-cert and --tls-key go together/);
  });

  it("cluster commands refuse bad usage with exit 2 before reaching for a cluster", async () => {
    const cases: [string[], RegExp][] = [
      [["namespaces"], /say what to do: enable, disable or list/],
      [["namespaces", "relabel", "shop"], /unknown action "relabel"/],
      [["namespaces", "enable"], /enable needs namespace names or -l SELECTOR/],
      [["namespaces", "enable", "shop", "-l", "team=shop"], /not both/],
      [["namespaces", "list", "shop"], /list takes no namespace names/],
      [["namespaces", "list", "--dry-run"], /--dry-run applies to enable and disable/],
      [["namespaces", "list", "-o", "yaml"], /-o must be table or json/],
      [["explain", "deployment/reviews"], /-n NAMESPACE is required/],
      [["explain", "-n", "shop"], /name one pod, or one KIND\/NAME/],
      [["explain", "-n", "shop", "service/reviews"], /is not POD or KIND\/NAME/],
      [["controller", "--port", "70000"], /--port must be at most 65535/],
      [["status", "-o", "xml"], /-o must be table, json or yaml/],
      [["rollout", "--pause", "soon"], /--pause must be a duration such as 30s, 5m or 1h30m, got "soon"/],
      [["rollout", "--timeout", "0"], /--timeout must be more than 0/],
      [["rollout", "--max-in-flight", "0"], /--max-in-flight must be a positive whole number/],
      [["rollout", "--all", "--stale"], /--all and --stale exclude each other/],
      [["status", "--namespace", "{shop,pay}"], /--namespace "\{shop,pay\}": braces \(\{a,b\}\) are not supported/],
      [["rollout", "--service", "!reviews"], /--service "!reviews": a leading ! \(negation\) is not supported/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });

  it("ends quietly, with its own exit code, when the reader of its output goes away (status | head)", () => {
    // Output well past a pipe's buffer, so that writes are still pending when head leaves.
    const many = Array.from(
      { length: 400 },
      (_, i) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i}, labels: {app: reviews}}\nspec: {containers: [{name: app, image: app:1}]}\n`,
    ).join("---\n");
    const manifest = file("many-pods.yaml", many);
    const run = spawnSync("bash", ["-c", `"${process.execPath}" "${CLI}" inject -f "${manifest}" | head -2 >/dev/null; exit \${PIPESTATUS[0]}`], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /EPIPE/, "no EPIPE stack");
  });

  it("cluster commands exit 1 saying what to fix when there is no cluster to talk to", () => {
    // A process of its own: the kubeconfig is found through the process's KUBECONFIG.
    const run = (args: string[], kubeconfig: string) =>
      spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 30_000 });
    const missing = run(["namespaces", "list"], join(dir, "no-such-kubeconfig"));
    assert.equal(missing.status, 1, missing.stderr);
    assert.match(
      missing.stderr,
      /mesh-tailor namespaces: no cluster to talk to: none of the files KUBECONFIG names exists \(.*no-such-kubeconfig\).*Point KUBECONFIG at a kubeconfig/,
    );
    // No KUBECONFIG and no ~/.kube/config: not the library's "HTTP protocol is not allowed", but what to set.
    const home = mkdtempSync(join(tmpdir(), "mesh-tailor-home-"));
    const bare = spawnSync(process.execPath, [CLI, "status"], { encoding: "utf8", env: { PATH: process.env["PATH"], HOME: home }, timeout: 30_000 });
    assert.equal(bare.status, 1, bare.stderr);
    assert.match(bare.stderr, /no cluster to talk to: there is no .*\.kube\/config and KUBECONFIG is not set/);
    assert.doesNotMatch(bare.stderr, /HTTP protocol/);
    const kubeconfig = file(
      "kubeconfig",
      "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    );
    const context = run(["namespaces", "list", "--context", "nope"], kubeconfig);
    assert.equal(context.status, 1, context.stderr);
    assert.match(context.stderr, /no context "nope" in the kubeconfig; contexts: x/);
    const unreachable = run(["explain", "-n", "shop", "deployment/reviews"], kubeconfig);
    assert.equal(unreachable.status, 1, unreachable.stderr);
    assert.match(unreachable.stderr, /cannot reach the API server at https:\/\/127.0.0.1:1/);
  });

  it("serve exits 1 with what to fix when the policy is invalid", async () => {
    const run = await cli([
      "serve",
      "--port",
      "0",
      "--config",
      file("bad-serve.yaml", "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nshutdown: {marginSeconds: 0}\n"),
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /shutdown\.marginSeconds:/);
    assert.match(run.stderr, /mesh-tailor policy default/);
  });

  describe("policy", () => {
    it("default prints the built-in policy, which validates", async () => {
      const run = await cli(["policy", "default"]);
      assert.equal(run.code, 0);
      assert.equal(loadPolicy(run.stdout).policy.mesh.enabled, true);
      assert.match(run.stdout, /# false = system-wide rollback/);
    });
    it("validate exits 0 on a valid file", async () => {
      const run = await cli(["policy", "validate", POLICY]);
      assert.equal(run.code, 0);
      assert.match(run.stdout, /valid \(2 service entries/);
    });
    it("validate exits 1 listing every problem", async () => {
      const run = await cli([
        "policy",
        "validate",
        file("bad.yaml", "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nmesh: {enabled: 1}\nsandbox: {labelKey: '!'}\n"),
      ]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /mesh\.enabled:/);
      assert.match(run.stderr, /sandbox\.labelKey:/);
    });
    it("validate refuses a namespace pattern that backtracks, quickly, saying why and what to write instead", async () => {
      const evil = file(
        "evil.yaml",
        'apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nsandbox:\n  namespacePattern: "^(?<base>([a-z0-9]+-?)+)--(?<branch>box-[a-z0-9]+)$"\n',
      );
      const started = performance.now();
      const run = await cli(["policy", "validate", evil]);
      const elapsed = performance.now() - started;
      assert.equal(run.code, 1);
      assert.match(run.stderr, /sandbox\.namespacePattern: backtracks in exponential time on names such as '.*'\.repeat\(\d+\)/);
      assert.match(run.stderr, /\[a-z0-9-\]\+\?/, "suggests the linear form");
      // Measured at 0.3–0.6 s, most of it loading the checker; the bound is for a busy 2-core machine.
      assert.ok(elapsed < 5_000, `took ${elapsed} ms`);
    });
    it("validate exits 1 on a missing file and 2 on missing arguments", async () => {
      const missing = await cli(["policy", "validate", join(dir, "nope.yaml")]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /cannot read .*ENOENT/);
      assert.equal((await cli(["policy", "validate"])).code, 2);
      assert.equal((await cli(["policy"])).code, 2);
    });
    it("exits with the same codes as a real process", () => {
      const bad = spawnSync(process.execPath, [CLI, "policy", "validate", join(dir, "bad.yaml")], { encoding: "utf8" });
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /mesh\.enabled/);
      assert.equal(spawnSync(process.execPath, [CLI, "policy", "--bogus"], { encoding: "utf8" }).status, 2);
      assert.equal(spawnSync(process.execPath, [CLI, "policy", "default"], { encoding: "utf8" }).status, 0);
    });
  });

  describe("inject", () => {
    it("mutates a Deployment's pod template and passes other documents through", async () => {
      const run = await cli(["inject", "-f", file("app.yaml", `${DEPLOYMENT}---\n${SERVICE}`), "--config", POLICY]);
      assert.equal(run.code, 0, run.stderr);
      const [deployment, service] = parseAllDocuments(run.stdout).map((d) => d.toJS() as unknown) as [Workload, unknown];
      const template = deployment.spec.template;
      assert.equal(template.metadata!.labels!["sidecar.istio.io/inject"], "true");
      assert.equal(template.metadata!.labels!["mesh-tailor.io/host-passthrough"], "both");
      assert.equal(template.metadata!.labels!["branch"], "master");
      assert.equal(template.spec.terminationGracePeriodSeconds, 40);
      assert.equal(deployment.metadata.annotations!["example.com/owner~team"], "platform");
      assert.deepEqual(service, parse(SERVICE));
      assert.match(run.stderr, /document 1 \(Deployment\/reviews\): mesh-tailor: raised terminationGracePeriodSeconds from 30 to 40/);
    });

    it("labels a CronJob's pods with locality, from stdin, in the namespace given", async () => {
      const run = await cli(["inject", "-f", "-", "-n", "shop--box-3", "--config", POLICY], CRONJOB);
      assert.equal(run.code, 0, run.stderr);
      const template = (parse(run.stdout) as CronJob).spec.jobTemplate.spec.template;
      assert.equal(template.metadata!.labels!["istio-locality"], "eu.eu-b");
      assert.equal(template.metadata!.labels!["branch"], "box-3");
      assert.equal(template.metadata!.labels!["sidecar.istio.io/inject"], "true");
    });

    it("walks Lists, and writes json", async () => {
      const list = JSON.stringify({ apiVersion: "v1", kind: "List", items: [parse(DEPLOYMENT), parse(SERVICE)] });
      const run = await cli(["inject", "-f", file("list.json", list), "-o", "json", "--config", POLICY]);
      const output = JSON.parse(run.stdout) as { kind: string; items: [Workload, unknown] };
      assert.equal(output.kind, "List");
      assert.equal(output.items[0].spec.template.metadata!.labels!["sidecar.istio.io/inject"], "true");
      assert.deepEqual(output.items[1], parse(SERVICE));
    });

    it("writes the JSON patch per pod with -o patch", async () => {
      const run = await cli(["inject", "-f", file("deploy.yaml", DEPLOYMENT), "-o", "patch", "--config", POLICY]);
      const entry = (JSON.parse(run.stdout) as { kind: string; path: string; patch: PatchOperation[] }[])[0]!;
      assert.equal(entry.kind, "Deployment");
      assert.equal(entry.path, "spec.template");
      assert.ok(entry.patch.some((op) => op.path === "/metadata/labels/sidecar.istio.io~1inject"));
    });

    it("gives identical output when fed its own output", async () => {
      const first = await cli(["inject", "-f", file("round.yaml", `${DEPLOYMENT}---\n${CRONJOB}---\n${SERVICE}`), "--config", POLICY]);
      const second = await cli(["inject", "-f", "-", "--config", POLICY], first.stdout);
      assert.equal(second.stdout, first.stdout);
    });

    it("exits 1 saying which document and line is malformed", async () => {
      const run = await cli(["inject", "-f", file("broken.yaml", `${SERVICE}---\nkind: Pod\nspec: {containers: [\n`)]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /broken\.yaml: not a valid manifest: document 2, line \d+, column \d+/);
      assert.doesNotMatch(run.stderr, /policy/, "a broken manifest is not called a policy problem");
    });

    it("refuses a duplicate key, naming the document, line and column", async () => {
      const run = await cli(["inject", "-f", "-"], `${SERVICE}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n`);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /<stdin>: not a valid manifest: document 2, line 12, column 3: the key "name" appears twice in one mapping/);
    });

    it("refuses a billion-laughs document with a message, not a stack trace", async () => {
      const names = "abcdefghij";
      const laughs = [`${names[0]}: &${names[0]} ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]`];
      for (let i = 1; i < names.length; i++)
        laughs.push(
          `${names[i]}: &${names[i]} [${Array(9)
            .fill(`*${names[i - 1]}`)
            .join(", ")}]`,
        );
      const run = await cli(["inject", "-f", "-"], laughs.join("\n"));
      assert.equal(run.code, 1);
      assert.match(run.stderr, /<stdin>: not a valid manifest: document 1: .*alias/i);
      assert.doesNotMatch(run.stderr, /unexpected error|\n\s+at /);
    });

    it("refuses aliases that would multiply the input, before writing any of it", async () => {
      const big = "x".repeat(100_000);
      const run = await cli(["inject", "-f", "-"], `a: &a "${big}"\nb: [${Array(90).fill("*a").join(", ")}]\n`);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /aliases expand the input past 4 times its size/);
      assert.equal(run.stdout, "");
    });

    it("refuses input over 8 MiB without parsing it", async () => {
      const run = await cli(["inject", "-f", "-"], `# ${"x".repeat(8 * 1024 * 1024)}\n`);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /over the 8388608-byte limit; split it/);
      const onDisk = await cli(["inject", "-f", file("huge.yaml", `# ${"x".repeat(8 * 1024 * 1024)}\n`)]);
      assert.equal(onDisk.code, 1);
      assert.match(onDisk.stderr, /huge\.yaml: it is \d+ bytes, over the 8388608-byte limit/);
    });

    it("exits 2 without -f or with an unknown format, and 1 for a missing file", async () => {
      assert.equal((await cli(["inject"])).code, 2);
      assert.match((await cli(["inject", "-f", "x", "-o", "xml"])).stderr, /-o must be yaml, json or patch/);
      const missing = await cli(["inject", "-f", join(dir, "absent.yaml")]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /cannot read .*ENOENT/);
    });
  });
});
