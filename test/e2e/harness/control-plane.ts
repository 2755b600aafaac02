import { readFileSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { infraBinary } from "./infra.js";
import { createControlPlanePki, type ControlPlanePki } from "./pki.js";
import { freePort, GiveUp, startProcess, waitFor, type Started } from "./processes.js";

export interface ControlPlane {
  readonly url: string;
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  readonly pki: ControlPlanePki;
  /** Stops kube-apiserver and starts it again on the same port and etcd, as an upgrade or crash would. */
  restartApiServer(): Promise<void>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 90_000;

async function startEtcd(dir: string): Promise<{ process: Started; url: string }> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
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

function getReadyz(url: string, pki: ControlPlanePki): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/readyz`, { ca: readFileSync(pki.caCert), cert: readFileSync(pki.adminCert), key: readFileSync(pki.adminKey), timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
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
export async function startControlPlane(dir: string): Promise<ControlPlane> {
  await mkdir(dir, { recursive: true });
  const pki = await createControlPlanePki(dir);
  const etcd = await startEtcd(dir);
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
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
    "--v", "1",
  ];
  let starts = 0;
  const startApiServer = async (): Promise<Started> => {
    starts += 1;
    const apiserver = startProcess(infraBinary("kube-apiserver"), args, join(dir, `kube-apiserver${starts > 1 ? `-${starts}` : ""}.log`));
    try {
      await waitFor("kube-apiserver /readyz", READY_TIMEOUT_MS, async () => {
        if (apiserver.child.exitCode !== null) throw new GiveUp(`kube-apiserver exited: ${apiserver.tail()}`);
        return (await getReadyz(url, pki)) === 200 ? true : undefined;
      }, 500);
    } catch (error) {
      await apiserver.stop();
      throw error;
    }
    return apiserver;
  };
  let apiserver: Started;
  try {
    apiserver = await startApiServer();
  } catch (error) {
    await etcd.process.stop();
    throw error;
  }
  const stop = async () => {
    await apiserver.stop();
    await etcd.process.stop();
  };
  const restartApiServer = async () => {
    await apiserver.stop();
    apiserver = await startApiServer();
  };
  const kubeconfigPath = join(dir, "kubeconfig");
  writeKubeconfig(kubeconfigPath, url, pki);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return { url, kubeconfigPath, kubeConfig, pki, restartApiServer, stop };
}
