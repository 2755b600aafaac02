// Runs as a child process (credentials.ts): reads the kubeconfig with @kubernetes/client-node,
// resolves its authentication (files, tokens, exec plugins, auth providers), answers plain data
// over IPC and exits. The client library's memory ends with the process, all of it: a worker
// thread's would leave its parent some 30 MB of RSS for good (docs/architecture.md).
import type { RequestOptions } from "node:https";
import { KubeConfigError, loadKubeConfig } from "./kubeconfig.js";

/** The context to use, if one is named: the process's only argument. */
const context = process.argv[2] || undefined;
const answer = (message: unknown) => process.send!(message, () => process.exit(0));
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
  answer({
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
  answer({ ok: false, kubeconfig: error instanceof KubeConfigError, message: (error as Error).message });
}
