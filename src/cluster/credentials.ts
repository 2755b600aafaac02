import { Worker } from "node:worker_threads";
import { KubeConfigError } from "./errors.js";

/** How to reach and authenticate to the API server: plain data from the kubeconfig. */
export interface Credentials {
  readonly server: string;
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly rejectUnauthorized?: boolean | undefined;
  readonly servername?: string | undefined;
  /** user:password, for a kubeconfig with basic authentication. */
  readonly auth?: string | undefined;
  /** Authorization (a bearer token), and whatever else the kubeconfig's user adds. */
  readonly headers: Readonly<Record<string, string>>;
}

type Answer = { ok: true; credentials: Credentials } | { ok: false; kubeconfig: boolean; message: string };

let prefetched: { context: string | undefined; credentials: Promise<Credentials> } | undefined;

/** Starts resolving CONTEXT's credentials now; the next loadCredentials for it takes the result. */
export function prefetchCredentials(context: string | undefined): void {
  const credentials = resolveInWorker(context);
  // Nobody may ask for them (a usage error first): a failure then is nobody's to report.
  credentials.catch(() => undefined);
  prefetched = { context, credentials };
}

/**
 * The kubeconfig's credentials for CONTEXT, resolved by @kubernetes/client-node in a worker
 * thread. Loading that library costs a process about 70 MB of memory for good (it brings every
 * generated API type); the controller, which runs for weeks with a 150 MB budget, must not pay
 * that. Callers resolve again when a token may have expired (a 401, or every few minutes).
 */
export function loadCredentials(context: string | undefined): Promise<Credentials> {
  if (prefetched && prefetched.context === context) {
    const { credentials } = prefetched;
    prefetched = undefined;
    return credentials;
  }
  return resolveInWorker(context);
}

function resolveInWorker(context: string | undefined): Promise<Credentials> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./credentials-worker.js", import.meta.url), { workerData: { context } });
    let settled = false;
    worker.once("message", (answer: Answer) => {
      settled = true;
      void worker.terminate();
      if (answer.ok) resolve(answer.credentials);
      else reject(answer.kubeconfig ? new KubeConfigError(answer.message) : new KubeConfigError(`cannot use the kubeconfig: ${answer.message}`));
    });
    worker.once("error", (error) => {
      settled = true;
      reject(new KubeConfigError(`cannot use the kubeconfig: ${error.message}`));
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new KubeConfigError(`reading the kubeconfig stopped (exit ${code}) before it answered`));
    });
  });
}
