// Runs in a worker thread (credentials.ts): reads the kubeconfig with @kubernetes/client-node,
// resolves its authentication (files, tokens, exec plugins, the pod's ServiceAccount), and
// answers plain data. The client library stays in this thread's heap, which ends with it.
import { parentPort, workerData } from "node:worker_threads";
import type { RequestOptions } from "node:https";
import { KubeConfigError, loadKubeConfig } from "./kubeconfig.js";

const { context } = workerData as { context: string | undefined };
try {
  const config = loadKubeConfig(context);
  const options: RequestOptions = { headers: {} };
  await config.applyToHTTPSOptions(options);
  const text = (value: unknown) => (value === undefined ? undefined : Buffer.isBuffer(value) ? value.toString("utf8") : String(value));
  parentPort!.postMessage({
    ok: true,
    credentials: {
      server: config.getCurrentCluster()!.server,
      ca: text(options.ca),
      cert: text(options.cert),
      key: text(options.key),
      rejectUnauthorized: options.rejectUnauthorized,
      servername: options.servername,
      auth: options.auth,
      headers: Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k, String(v)])),
    },
  });
} catch (error) {
  parentPort!.postMessage({ ok: false, kubeconfig: error instanceof KubeConfigError, message: (error as Error).message });
}
