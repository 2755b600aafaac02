import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { AppsV1Api, PatchStrategy, setHeaderOptions, type V1Deployment } from "@kubernetes/client-node";
import type { CheckResult } from "../../src/ops/doctor/check.js";
import { DOCTOR_CHECKS } from "../../src/ops/doctor/checks/index.js";
import type { StatusReport } from "../../src/ops/status.js";
import { CLI } from "../fixtures/serve-process.js";
import { startMeshCluster, type MeshCluster } from "./harness/mesh-cluster.js";
import { deploymentAvailable } from "./harness/workload-controllers.js";

// The migration loop's promises on a cluster that runs workloads: stale means what re-admission
// would change, rollout done means tailored, and the diagnostics survive a bad policy.

const HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n";
const NOTHING = `${HEADER}services: []\n`;
const REVIEWS = `${HEADER}services:\n  - name: reviews\n`;

const deployment = (name: string, replicas: number): V1Deployment => ({
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: `${name}:1` }] } },
  },
});

describe("the migration loop's promises on a real cluster", { timeout: 900_000 }, () => {
  let cluster: MeshCluster;
  let apps: AppsV1Api;

  const available = (name: string, replicas: number) => deploymentAvailable(apps, "shop", name, replicas);
  const status = async (...args: string[]) => {
    const run = await cluster.cli(["status", "--namespace", "shop", "-o", "json", ...args]);
    return { code: run.code, stderr: run.stderr, report: run.stdout.startsWith("{") ? (JSON.parse(run.stdout) as StatusReport) : undefined };
  };
  const row = (report: StatusReport | undefined, name: string) => report?.workloads.find((w) => w.name === name);
  const generation = async (name: string) => (await apps.readNamespacedDeployment({ namespace: "shop", name })).metadata?.generation ?? 0;
  /** The CLI on a pseudo-terminal (`script`), as a person runs it, answering INPUT. */
  const answered = (input: string, args: string[]) =>
    new Promise<{ code: number; output: string }>((resolve) => {
      const command = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(" ");
      const child = spawn("script", ["-qfec", command, "/dev/null"], {
        env: { ...process.env, KUBECONFIG: cluster.controlPlane.kubeconfigPath },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("[y/N]") && !child.stdin.writableEnded) child.stdin.end(input);
      });
      child.once("exit", (code) => resolve({ code: code ?? 1, output }));
    });
  const rollout = (...args: string[]) => cluster.cli(["rollout", "--namespace", "shop", "--yes", "--timeout", "90s", ...args]);

  before(
    async () => {
      cluster = await startMeshCluster(NOTHING, { workloads: true, injectorServer: true });
      apps = cluster.controlPlane.kubeConfig.makeApiClient(AppsV1Api);
      await cluster.createNamespace("shop", { "mesh-tailor.io/enabled": "true" });
      for (const body of [deployment("reviews", 2), deployment("ratings", 1)]) await apps.createNamespacedDeployment({ namespace: "shop", body });
      await available("reviews", 2);
      await available("ratings", 1);
      await cluster.servePolicy(REVIEWS);
      const migrated = await rollout();
      assert.equal(migrated.code, 0, migrated.stderr);
    },
    { timeout: 300_000 },
  );

  after(async () => {
    await cluster?.stop();
  });

  it("a policy edit that changes no pod (the controller's settings, another service's entry) leaves status clean", async () => {
    const { code, report } = await status();
    assert.equal(code, 0, "after the migration, nothing is stale");
    assert.equal(row(report, "reviews")?.withProxy, 2);
    await cluster.servePolicy(
      `${REVIEWS}  - name: payments\n    revision: canary\nnamespaces:\n  defaultSidecar:\n    egressHosts: ["./*", "istio-system/*", "shared/*"]\n`,
    );
    const after = await status();
    assert.equal(after.code, 0, `still clean: ${JSON.stringify(after.report?.summary)}`);
  });

  it("the system-wide rollback makes stale only the pods that have a proxy", async () => {
    await cluster.servePolicy(`${HEADER}mesh:\n  enabled: false\nservices:\n  - name: reviews\n`);
    const { code, report } = await status();
    assert.equal(code, 3);
    assert.equal(row(report, "reviews")?.stale, 2, "in the mesh: to be rolled back");
    assert.equal(row(report, "ratings")?.stale, 0, "never in the mesh: nothing changes for it");
    // On a terminal, rollout asks; "n" restarts nothing, and says so.
    const before = await generation("reviews");
    const asked = await answered("n\n", ["rollout", "--namespace", "shop"]);
    assert.match(asked.output, /restart 1 workload\(s\)\? \[y\/N\]/);
    assert.match(asked.output, /nothing restarted \(not confirmed\)/);
    assert.equal(asked.code, 0);
    assert.equal(await generation("reviews"), before);
    await cluster.servePolicy(REVIEWS);
    assert.equal((await status()).code, 0, "back to the policy they were admitted under");
  });

  it("a service on a revision with no injector: status and doctor say so, rollout refuses it and restarts nothing", async () => {
    await cluster.servePolicy(`${REVIEWS}  - name: ratings\n    revision: canary\n`);
    const { code, report } = await status();
    assert.equal(code, 1, "a policy that cannot take effect");
    assert.match(row(report, "ratings")?.problem ?? "", /revision "canary" has none/);
    const before = await generation("ratings");
    const refused = await rollout("--service", "ratings");
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /refuse shop\/deployment\/ratings: service ratings: no Istio injection webhook injects it: revision "canary" has none/);
    assert.match(refused.stderr, /nothing was restarted/);
    assert.equal(await generation("ratings"), before, "nothing restarted");
    const doctor = await cluster.cli(["doctor", "-o", "json"]);
    const revisions = (JSON.parse(doctor.stdout) as { checks: CheckResult[] }).checks.find((c) => c.check === "revisions")!;
    assert.equal(revisions.status, "error");
    assert.match(revisions.detail, /revision "canary" has no injection webhook, and \*\/ratings asks for it/);
    const validate = await cluster.cli(["policy", "validate", cluster.policyFile, "--cluster"]);
    assert.equal(validate.code, 1, validate.stdout);
    assert.match(validate.stdout, /error: shop\/deployment\/ratings \(service ratings\): no Istio injection webhook injects it/);
    await cluster.writePolicy(`${REVIEWS}  - name: detials\n`);
    const typo = await cluster.cli(["policy", "validate", cluster.policyFile, "--cluster"]);
    assert.equal(typo.code, 0, "a warning only");
    assert.match(typo.stdout, /warning: services\[1\] \(name: detials, namespace: \*\) decides for no workload in the cluster/);
    await cluster.servePolicy(REVIEWS);
  });

  it("the webhook stopped during a rollout: the workload fails with why, and a rerun finishes it", async () => {
    await cluster.servePolicy(`${REVIEWS}  - name: ratings\n`);
    await cluster.stopWebhook();
    let failed;
    try {
      failed = await rollout("--service", "ratings");
    } finally {
      await cluster.startWebhook();
    }
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(
      failed.stderr,
      /failed shop\/deployment\/ratings: rolled out, but 1 of 1 pod\(s\) are not as the policy wants them: pod ratings-\S+: admitted without mesh-tailor; no proxy, but the policy selects it/,
    );
    const rerun = await rollout("--service", "ratings");
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(row((await status()).report, "ratings")?.withProxy, 1);
  });

  it("an invalid installed policy: doctor still runs every check, the other commands say what to do", async () => {
    const invalid = `${HEADER}mesh:\n  enabled: maybe\n`;
    const configMaps = { namespace: "mesh-tailor", name: "mesh-tailor-policy" };
    // The ConfigMap only: the webhook (its file) keeps serving the last valid policy, as it would.
    await cluster.core.patchNamespacedConfigMap(
      { ...configMaps, body: { data: { "policy.yaml": invalid } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    try {
      const doctor = await cluster.cli(["doctor", "-o", "json"]);
      assert.equal(doctor.code, 1);
      const checks = (JSON.parse(doctor.stdout) as { checks: CheckResult[] }).checks;
      assert.deepEqual(
        [...new Set(checks.map((c) => c.check))],
        DOCTOR_CHECKS.map((c) => c.name),
        "every check reported",
      );
      const policy = checks.find((c) => c.check === "policy")!;
      assert.equal(policy.status, "error");
      assert.match(policy.detail, /mesh-tailor-policy policy\.yaml is invalid: mesh\.enabled/);
      assert.equal(checks.find((c) => c.check === "webhook-order")!.status, "ok", "judged without the policy");
      const stale = await status();
      assert.equal(stale.code, 1);
      assert.match(stale.stderr, /The installed policy is invalid: the webhook keeps serving the last valid one .* --config FILE/);
      const byFile = await cluster.cli(["status", "--namespace", "shop", "--config", cluster.policyFile]);
      assert.equal(byFile.code, 0, byFile.stderr);
    } finally {
      await cluster.writePolicy(REVIEWS);
    }
  });
});
