import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { fork } from "node:child_process";
import { KubeConfigError } from "./errors.js";
import { inClusterSource, serviceAccountAvailable } from "./in-cluster.js";
import { monotonicMs } from "./clock.js";
import { readFile } from "node:fs/promises";

/** How to reach and authenticate to the API server: plain data. */
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

/** Where credentials come from, and when they are read again. */
export interface CredentialSource {
  /** What a message about this cluster calls it: the context, or the ServiceAccount. */
  readonly description: string;
  /** The credentials to use now, read again when due. */
  current(): Promise<Credentials>;
  /** The API server answered 401: read them again before the next request. */
  invalidate(): void;
}

/** What the kubeconfig's resolver process answers: the credentials, and what makes them expire. */
export interface KubeconfigAnswer {
  readonly credentials: Credentials;
  /** An exec plugin or auth provider: its tokens expire, so it is asked again periodically. */
  readonly expiring: boolean;
  /** A token read from a file (token-file), which its writer rotates: re-read periodically. */
  readonly tokenFile?: string | undefined;
}

type ResolverAnswer = ({ ok: true } & KubeconfigAnswer) | { ok: false; kubeconfig: boolean; message: string };

// client-go re-reads a rotated token file every minute (transport.NewCachedFileTokenSource);
// exec plugins and auth providers are asked again well before their usual hour-long tokens end.
export const TOKEN_FILE_REREAD_MS = 60_000;
const EXPIRING_CREDENTIALS_TTL_MS = 5 * 60_000;

/** The kubeconfig files kubectl would read: $KUBECONFIG's list, else ~/.kube/config. */
export function kubeconfigPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const list = env["KUBECONFIG"];
  if (list) return list.split(delimiter).filter(Boolean);
  return [join(env["HOME"] ?? homedir(), ".kube", "config")];
}

/**
 * The credentials for CONTEXT, resolved the way kubectl and client-go resolve them: a kubeconfig
 * when one exists ($KUBECONFIG, else ~/.kube/config), else the pod's own ServiceAccount when
 * running in a cluster. A kubeconfig is read by @kubernetes/client-node in a short-lived child
 * process (exec plugins, OIDC, every field kubectl knows): loading that library costs a process
 * about 70 MB for good, which a long-running process must not pay. In a pod, the ServiceAccount's
 * token and CA are plain files read here, with no library at all.
 */
export async function resolveCredentialSource(context: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<CredentialSource> {
  const paths = kubeconfigPaths(env);
  if (paths.some((path) => existsSync(path))) return kubeconfigSource(context, paths, env);
  const where = env["KUBECONFIG"] ? `none of the files KUBECONFIG names exists (${paths.join(", ")})` : `there is no ${paths[0]} and KUBECONFIG is not set`;
  if (context) throw new KubeConfigError(`cannot use --context ${context}: ${where}`);
  if (serviceAccountAvailable(env)) return inClusterSource(env);
  throw new KubeConfigError(
    `no cluster to talk to: ${where}, and this is not a pod with a ServiceAccount token. Point KUBECONFIG at a kubeconfig (kubectl config view works when it is right), or create ~/.kube/config`,
  );
}

async function kubeconfigSource(context: string | undefined, paths: readonly string[], env: NodeJS.ProcessEnv): Promise<CredentialSource> {
  let answer = await resolveInProcess(context, env);
  let resolvedAt = monotonicMs();
  let token: { value: string; readAt: number } | undefined;
  let stale = false;
  let refreshing: Promise<void> | undefined;
  const refresh = (): Promise<void> =>
    (refreshing ??= resolveInProcess(context, env)
      .then((next) => {
        answer = next;
        resolvedAt = monotonicMs();
        token = undefined;
        stale = false;
      })
      .finally(() => (refreshing = undefined)));
  return {
    description: context ? `context ${context} of ${paths.join(delimiter)}` : `the current context of ${paths.join(delimiter)}`,
    async current() {
      if (stale || (answer.expiring && monotonicMs() - resolvedAt > EXPIRING_CREDENTIALS_TTL_MS)) await refresh();
      const { credentials, tokenFile } = answer;
      if (!tokenFile) return credentials;
      if (!token || monotonicMs() - token.readAt > TOKEN_FILE_REREAD_MS) token = { value: (await readFile(tokenFile, "utf8")).trim(), readAt: monotonicMs() };
      return { ...credentials, headers: { ...credentials.headers, Authorization: `Bearer ${token.value}` } };
    },
    invalidate() {
      stale = true;
      token = undefined;
    },
  };
}

function resolveInProcess(context: string | undefined, env: NodeJS.ProcessEnv): Promise<KubeconfigAnswer> {
  return new Promise((resolve, reject) => {
    // Its own process, not a worker thread: the library's memory goes back to the system when it
    // exits. No inherited execArgv (a preloaded module is the parent's business); no stdin (the
    // library runs exec plugins with pipes of its own); stdout ignored, so nothing the library
    // prints can enter a command's output; stderr kept, for what it warns.
    const child = fork(new URL("./credentials-process.js", import.meta.url), context ? [context] : [], {
      env,
      execArgv: [],
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    let settled = false;
    child.once("message", (message) => {
      settled = true;
      const answer = message as ResolverAnswer;
      if (answer.ok) resolve(answer);
      else reject(new KubeConfigError(answer.kubeconfig ? answer.message : `cannot use the kubeconfig: ${answer.message}`));
    });
    child.once("error", (error) => {
      if (settled) return;
      settled = true;
      reject(new KubeConfigError(`cannot use the kubeconfig: ${error.message}`));
    });
    child.once("exit", (code, signal) => {
      if (!settled) reject(new KubeConfigError(`reading the kubeconfig stopped (${signal ?? `exit ${code}`}) before it answered`));
    });
  });
}

let prefetched: { context: string | undefined; source: Promise<CredentialSource> } | undefined;

/** Starts resolving CONTEXT's credentials now; the next credentialSource for it takes the result. */
export function prefetchCredentials(context: string | undefined): void {
  const source = resolveCredentialSource(context);
  // Nobody may ask for them (a usage error first): a failure then is nobody's to report.
  source.catch(() => undefined);
  prefetched = { context, source };
}

/** CONTEXT's credential source, taking a prefetched one when it was for the same context. */
export function credentialSource(context: string | undefined): Promise<CredentialSource> {
  if (prefetched && prefetched.context === context) {
    const { source } = prefetched;
    prefetched = undefined;
    return source;
  }
  return resolveCredentialSource(context);
}
