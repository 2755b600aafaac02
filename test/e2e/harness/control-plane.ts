import { readFileSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { writeAuditPolicy } from "../../faults/harness/audit-log.js";
import { infraBinary } from "./infra.js";
import { createControlPlanePki, type ControlPlanePki } from "./pki.js";
import { freePort, GiveUp, startProcess, waitFor, type Started } from "./processes.js";

export interface ControlPlane {
  readonly url: string;
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  readonly pki: ControlPlanePki;
  /** The JSON-lines audit log (see faults/harness/audit-log.ts), when started with `audit`. */
  readonly auditLogPath: string | undefined;
  /** Stops kube-apiserver and starts it again on the same port and etcd, as an upgrade or crash would. */
  restartApiServer(): Promise<void>;
  /** Stops kube-apiserver (SIGTERM); etcd keeps running. */
  stopApiServer(): Promise<void>;
  /** Starts the stopped kube-apiserver again on the same port and etcd; resolves once it is ready. */
  startApiServer(): Promise<void>;
  /**
   * Compacts etcd up to its current revision and waits until the compacted revisions are
   * physically gone; resolves to that revision. A watch from an older resourceVersion that
   * reaches etcd then fails with 410 Gone; most resources' watches are answered by
   * kube-apiserver's watch cache instead, from its own window of events (Events have none).
   */
  compactEtcd(): Promise<number>;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Record writes to Leases, Sidecars, Namespaces and Events in an audit log (auditLogPath). */
  readonly audit?: boolean;
}

const READY_TIMEOUT_MS = 90_000;

async function startEtcd(dir: string): Promise<{ process: Started; url: string }> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  // prettier-ignore
  const etcd = startProcess(infraBinary("etcd"), [
    "--name", "e2e",
    "--data-dir", join(dir, "etcd"),
    "--listen-client-urls", url,
    "--advertise-client-urls", url,
    "--listen-peer-urls", peer,
    "--initial-advertise-peer-urls", peer,
    "--initial-cluster", `e2e=${peer}`,
    // A throwaway store: durability costs seconds per test on a busy disk and buys nothing here.
    "--unsafe-no-fsync",
    "--log-level", "warn",
  ], join(dir, "etcd.log"));
  await waitFor("etcd /health", READY_TIMEOUT_MS, async () => {
    if (etcd.child.exitCode !== null) throw new GiveUp(`etcd exited: ${etcd.tail()}`);
    const response = await fetch(`${url}/health`);
    return response.ok ? true : undefined;
  });
  return { process: etcd, url };
}

/**
 * One call of etcd's gRPC gateway, which etcd serves on its client URL: POST /v3/<service>/<method>
 * with the request as JSON (etcd v3.5 api/etcdserverpb/rpc.proto; keys are base64 and int64s
 * are strings in that JSON).
 */
async function etcdGateway(etcdUrl: string, path: string, body: unknown): Promise<{ ok: boolean; json: EtcdAnswer }> {
  const response = await fetch(`${etcdUrl}${path}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
  return { ok: response.ok, json: (await response.json()) as EtcdAnswer };
}

/** The parts of the gateway's answers read here: the header's revision (an int64, so a string), or an error's message. */
interface EtcdAnswer {
  header?: { revision?: string };
  message?: string;
  [field: string]: unknown;
}

async function compactEtcdAt(etcdUrl: string): Promise<number> {
  // A range over one key that need not exist, for the header's revision: the store's current one.
  const range = await etcdGateway(etcdUrl, "/v3/kv/range", { key: Buffer.from("\0").toString("base64"), count_only: true });
  const revision = Number(range.json["header"]?.revision);
  if (!range.ok || !Number.isSafeInteger(revision)) throw new Error(`etcd range gave no revision: ${JSON.stringify(range.json)}`);
  const compaction = await etcdGateway(etcdUrl, "/v3/kv/compaction", { revision: String(revision), physical: true });
  // Compacted there already (no write since the last compaction): nothing left to do.
  const already = String(compaction.json["message"] ?? "").includes("required revision has been compacted");
  if (!compaction.ok && !already) throw new Error(`etcd compaction at ${revision} failed: ${JSON.stringify(compaction.json)}`);
  return revision;
}

/**
 * kube-apiserver's audit flags (k8s.io/apiserver pkg/server/options/audit.go at v0.34.4): the
 * policy, a JSON log in the cluster directory, and the log backend in blocking mode (already its
 * default, named because the suite relies on it): each event is written before the request's
 * handler returns, instead of in batches on a timer, so a response's event reaches the file
 * within moments of the response. Rotation stays at its 100 MB default, far above a test's log.
 */
function auditFlags(dir: string): { args: string[]; logPath: string } {
  const policyPath = join(dir, "audit-policy.yaml");
  const logPath = join(dir, "audit.log");
  writeAuditPolicy(policyPath);
  return { args: ["--audit-policy-file", policyPath, "--audit-log-path", logPath, "--audit-log-format=json", "--audit-log-mode=blocking"], logPath };
}

function getReadyz(url: string, pki: ControlPlanePki): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/readyz`,
      { ca: readFileSync(pki.caCert), cert: readFileSync(pki.adminCert), key: readFileSync(pki.adminKey), timeout: 5_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("timeout", () => req.destroy(new Error("readyz timed out")));
    req.on("error", reject);
    req.end();
  });
}

function writeKubeconfig(path: string, url: string, pki: ControlPlanePki): void {
  const kubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "e2e", cluster: { server: url, "certificate-authority": pki.caCert } }],
    users: [{ name: "e2e-admin", user: { "client-certificate": pki.adminCert, "client-key": pki.adminKey } }],
    contexts: [{ name: "e2e", context: { cluster: "e2e", user: "e2e-admin" } }],
    "current-context": "e2e",
  };
  writeFileSync(path, stringify(kubeconfig));
}

/** etcd and kube-apiserver on loopback, ready to serve; `stop` ends both. */
export async function startControlPlane(dir: string, options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  await mkdir(dir, { recursive: true });
  const pki = await createControlPlanePki(dir);
  const etcd = await startEtcd(dir);
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const audit = options.audit ? auditFlags(dir) : undefined;
  // prettier-ignore
  const args = [
    "--etcd-servers", etcd.url,
    "--bind-address", "127.0.0.1",
    "--advertise-address", "127.0.0.1",
    "--secure-port", String(port),
    "--cert-dir", join(dir, "apiserver-certs"),
    "--tls-cert-file", pki.serverCert,
    "--tls-private-key-file", pki.serverKey,
    "--client-ca-file", pki.caCert,
    "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
    "--service-account-key-file", pki.serviceAccountKey,
    "--service-account-signing-key-file", pki.serviceAccountKey,
    "--service-cluster-ip-range", "10.96.0.0/16",
    "--authorization-mode", "RBAC",
    // The ServiceAccount admission plugin stays on, as in a real cluster (Istio's injected
    // istio-token volume needs serviceAccountName); with no controller-manager, the suite
    // creates each namespace's default ServiceAccount itself.
    "--allow-privileged=true",
    "--enable-priority-and-fairness=false",
    ...(audit?.args ?? []),
    "--v", "1",
  ];
  let starts = 0;
  const launchApiServer = async (): Promise<Started> => {
    starts += 1;
    const apiserver = startProcess(infraBinary("kube-apiserver"), args, join(dir, `kube-apiserver${starts > 1 ? `-${starts}` : ""}.log`));
    try {
      await waitFor(
        "kube-apiserver /readyz",
        READY_TIMEOUT_MS,
        async () => {
          if (apiserver.child.exitCode !== null) throw new GiveUp(`kube-apiserver exited: ${apiserver.tail()}`);
          return (await getReadyz(url, pki)) === 200 ? true : undefined;
        },
        500,
      );
    } catch (error) {
      await apiserver.stop();
      throw error;
    }
    return apiserver;
  };
  // Undefined while stopped.
  let apiserver: Started | undefined;
  try {
    apiserver = await launchApiServer();
  } catch (error) {
    await etcd.process.stop();
    throw error;
  }
  const stopApiServer = async () => {
    const stopping = apiserver;
    apiserver = undefined;
    await stopping?.stop();
  };
  const startApiServer = async () => {
    if (apiserver) throw new Error("kube-apiserver is already running: stopApiServer() first");
    apiserver = await launchApiServer();
  };
  const stop = async () => {
    await stopApiServer();
    await etcd.process.stop();
  };
  const restartApiServer = async () => {
    await stopApiServer();
    await startApiServer();
  };
  const kubeconfigPath = join(dir, "kubeconfig");
  writeKubeconfig(kubeconfigPath, url, pki);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return {
    url,
    kubeconfigPath,
    kubeConfig,
    pki,
    auditLogPath: audit?.logPath,
    restartApiServer,
    stopApiServer,
    startApiServer,
    compactEtcd: () => compactEtcdAt(etcd.url),
    stop,
  };
}
