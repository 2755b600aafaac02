import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { spawnCommand, type ServeProcess } from "../../fixtures/serve-process.js";
import type { MeshCluster } from "./mesh-cluster.js";
import { freePort } from "./processes.js";

export interface ControllerProcess extends ServeProcess {
  readonly identity: string;
  readonly port: number;
  /** A metric from /metrics: the sum of its samples whose labels contain LABELS, undefined if none. */
  metric(name: string, labels?: string): Promise<number | undefined>;
  readyz(): Promise<number>;
}

/**
 * A kubeconfig that authenticates as a ServiceAccount (a TokenRequest token): the controller
 * runs with exactly the RBAC that manifests/ grants it, so a missing verb fails the suite.
 */
export async function serviceAccountKubeconfig(
  cluster: Pick<MeshCluster, "controlPlane" | "dir">,
  namespace: string,
  name: string,
  server = cluster.controlPlane.url,
): Promise<string> {
  const core = cluster.controlPlane.kubeConfig.makeApiClient(CoreV1Api);
  const token = await core.createNamespacedServiceAccountToken({ namespace, name, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const path = join(cluster.dir, `kubeconfig-${namespace}-${name}-${new URL(server).port}`);
  writeFileSync(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "e2e", cluster: { server, "certificate-authority": cluster.controlPlane.pki.caCert } }],
      users: [{ name, user: { token: token.status!.token } }],
      contexts: [{ name: "e2e", context: { cluster: "e2e", user: name } }],
      "current-context": "e2e",
    }),
  );
  return path;
}

/** `mesh-tailor controller` as a real process, against the suite's cluster. */
export async function startController(options: {
  identity: string;
  kubeconfig: string;
  policyFile: string;
  args?: readonly string[];
}): Promise<ControllerProcess> {
  const port = await freePort();
  const process_ = await spawnCommand(
    "controller",
    [
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--config",
      options.policyFile,
      "--identity",
      options.identity,
      "--poll-seconds",
      "1",
      ...(options.args ?? []),
    ],
    (logs) => logs.some((line) => line.msg === "mesh-tailor controller started"),
    30_000,
    { ...process.env, KUBECONFIG: options.kubeconfig, POD_NAMESPACE: "mesh-tailor" },
  );
  // Bounded: a replica the test has paused (SIGSTOP) never answers.
  const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3_000) });
  return {
    ...process_,
    identity: options.identity,
    port,
    async metric(name, labels = "") {
      const text = await (await get("/metrics")).text();
      let sum: number | undefined;
      for (const line of text.split("\n")) {
        const match = /^([^{\s]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
        if (match && match[1] === name && (match[2] ?? "").includes(labels)) sum = (sum ?? 0) + Number(match[3]);
      }
      return sum;
    },
    readyz: async () => (await get("/readyz")).status,
  };
}
