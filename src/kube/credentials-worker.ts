// Runs in a worker thread (credentials.ts): reads the kubeconfig with @kubernetes/client-node,
// resolves its authentication (files, tokens, exec plugins, auth providers), and answers plain
// data. The client library stays in this thread's heap, which ends with it.
import { parentPort, workerData } from "node:worker_threads";
import type { RequestOptions } from "node:https";
import { KubeConfigError, loadKubeConfig } from "./kubeconfig.js";

const { context } = workerData as { context: string | undefined };
try {
  const config = loadKubeConfig(context);
  const options: RequestOptions = { headers: {} };
  await config.applyToHTTPSOptions(options);
  // TLS material as PEM text: client-node gives strings or Buffers (it reads files into Buffers).
  const text = (value: RequestOptions["ca"] | RequestOptions["key"]): string | undefined => {
    if (value === undefined) return undefined;
    return (Array.isArray(value) ? value : [value])
      .map((part) => (typeof part === "string" ? part : Buffer.isBuffer(part) ? part.toString("utf8") : ""))
      .join("\n");
  };
  const user = config.getCurrentUser() as { exec?: unknown; authProvider?: unknown; "token-file"?: string } | null;
  parentPort!.postMessage({
    ok: true,
    expiring: Boolean(user?.exec || user?.authProvider),
    tokenFile: user?.["token-file"],
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
