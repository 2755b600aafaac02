// `npm run bench:controller -- [--minutes 30] [--namespaces 2000] [--cli PATH]`: the controller's
// memory over a long run against a real kube-apiserver with many enabled namespaces. It samples
// the process's resident set (VmRSS, from /proc) every few seconds, while a small churn keeps
// the controller reconciling (a namespace enabled and disabled, a managed Sidecar deleted), and
// reports the peak and the steady state (the median and the maximum of the second half).
// --cli runs another build's dist/src/cli/main.js, so two builds are measured the same way.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { serviceAccountKubeconfig } from "../test/e2e/harness/controller-process.js";
import { startMeshCluster } from "../test/e2e/harness/mesh-cluster.js";
import { freePort, waitFor } from "../test/e2e/harness/processes.js";
import { CLI } from "../test/fixtures/serve-process.js";

const { values } = parseArgs({ options: { minutes: { type: "string" }, namespaces: { type: "string" }, cli: { type: "string" }, out: { type: "string" } } });
const MINUTES = Number(values.minutes ?? 30);
const NAMESPACES = Number(values.namespaces ?? 2000);
const cli = values.cli ?? CLI;
const SAMPLE_MS = 5_000;
const SIDECARS = { group: "networking.istio.io", version: "v1", plural: "sidecars" } as const;
const log = (message: string) => process.stderr.write(`[soak] ${new Date().toISOString().slice(11, 19)} ${message}\n`);

const rssMb = (pid: number): number | undefined => {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("VmRSS:"));
    return line ? Number(line.replace(/\D+/g, "")) / 1024 : undefined;
  } catch {
    return undefined;
  }
};

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

async function main(): Promise<void> {
  const cluster = await startMeshCluster("apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices: []\n");
  try {
    const names = Array.from({ length: NAMESPACES }, (_, i) => `soak-${String(i).padStart(5, "0")}`);
    await inBatches(names, 20, (name) => cluster.createNamespace(name, { "mesh-tailor.io/enabled": "true" }));
    log(`${NAMESPACES} enabled namespaces created`);
    const kubeconfig = await serviceAccountKubeconfig(cluster, "mesh-tailor", "mesh-tailor-controller");
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [cli, "controller", "--host", "127.0.0.1", "--port", String(port), "--config", cluster.policyFile, "--identity", "soak"],
      {
        stdio: ["ignore", "ignore", "inherit"],
        env: { ...process.env, KUBECONFIG: kubeconfig, POD_NAMESPACE: "mesh-tailor", LOG_LEVEL: "warn" },
      },
    );
    const custom = cluster.controlPlane.kubeConfig.makeApiClient(CustomObjectsApi);
    const core = cluster.controlPlane.kubeConfig.makeApiClient(CoreV1Api);
    const started = Date.now();
    await waitFor(
      `the controller to create ${NAMESPACES} default Sidecars`,
      900_000,
      async () => {
        const { items } = (await custom.listClusterCustomObject({ ...SIDECARS, fieldSelector: "metadata.name=default" })) as { items: unknown[] };
        return items.length >= NAMESPACES ? true : undefined;
      },
      2_000,
    );
    log(`every namespace reconciled in ${Math.round((Date.now() - started) / 1000)} s`);
    const samples: { atSeconds: number; rssMb: number }[] = [];
    const end = started + MINUTES * 60_000;
    let churn = 0;
    while (Date.now() < end) {
      if (child.exitCode !== null) throw new Error(`the controller exited with ${child.exitCode}`);
      const rss = rssMb(child.pid!);
      if (rss !== undefined) samples.push({ atSeconds: Math.round((Date.now() - started) / 1000), rssMb: Math.round(rss * 10) / 10 });
      // A little work every sample: one namespace disabled or enabled again, one Sidecar deleted.
      const name = names[churn % names.length]!;
      churn += 1;
      await core
        .patchNamespace(
          { name, body: { metadata: { labels: { "mesh-tailor.io/enabled": churn % 2 === 0 ? "true" : null } } } },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        )
        .catch(() => undefined);
      await custom.deleteNamespacedCustomObject({ ...SIDECARS, namespace: names[(churn * 7) % names.length]!, name: "default" }).catch(() => undefined);
      if (samples.length % 60 === 0) log(`${Math.round((Date.now() - started) / 60_000)} min: RSS ${samples.at(-1)?.rssMb} MB`);
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
    child.kill("SIGTERM");
    const secondHalf = samples.slice(Math.floor(samples.length / 2)).map((s) => s.rssMb);
    const report = {
      cli,
      minutes: MINUTES,
      namespaces: NAMESPACES,
      peakRssMb: Math.max(...samples.map((s) => s.rssMb)),
      steadyRssMb: median(secondHalf),
      steadyMaxRssMb: Math.max(...secondHalf),
      samples,
    };
    if (values.out) writeFileSync(values.out, JSON.stringify(report, null, 2));
    process.stdout.write(
      `controller RSS over ${MINUTES} min with ${NAMESPACES} namespaces: peak ${report.peakRssMb} MB, steady ${report.steadyRssMb} MB (max ${report.steadyMaxRssMb} MB in the second half)\n`,
    );
  } finally {
    await cluster.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`soak failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
