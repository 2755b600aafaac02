import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isIPv6 } from "node:net";
import { join } from "node:path";
import { monotonicMs } from "./clock.js";
import { TOKEN_FILE_REREAD_MS, type CredentialSource, type Credentials } from "./credentials.js";
import { KubeConfigError } from "./errors.js";

/** Where the kubelet mounts a pod's ServiceAccount token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Running in a pod that may call the API server: its address in the environment, its token mounted. */
export function serviceAccountAvailable(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR): boolean {
  return Boolean(env["KUBERNETES_SERVICE_HOST"] && env["KUBERNETES_SERVICE_PORT"]) && existsSync(join(dir, "token"));
}

/**
 * The pod's own ServiceAccount, as client-go's rest.InClusterConfig reads it: the API server
 * from KUBERNETES_SERVICE_HOST/PORT, the CA and the token from the mounted files. The kubelet
 * rotates the projected token (about hourly, well before it expires), so it is read again every
 * minute, and at once after a 401; the CA is read with it, so a rotated cluster CA is picked up.
 */
export function inClusterSource(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR, clock: () => number = monotonicMs): CredentialSource {
  const host = env["KUBERNETES_SERVICE_HOST"] ?? "";
  const port = env["KUBERNETES_SERVICE_PORT"] ?? "";
  if (!host || !port) throw new KubeConfigError("not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  let cached: { credentials: Credentials; readAt: number } | undefined;
  let reading: Promise<Credentials> | undefined;
  const read = async (): Promise<Credentials> => {
    const [token, ca] = await Promise.all([readFile(join(dir, "token"), "utf8"), readFile(join(dir, "ca.crt"), "utf8")]).catch((error: Error) => {
      throw new KubeConfigError(`cannot read the pod's ServiceAccount from ${dir}: ${error.message}`);
    });
    const credentials: Credentials = { server, ca, headers: { Authorization: `Bearer ${token.trim()}` } };
    cached = { credentials, readAt: clock() };
    return credentials;
  };
  return {
    description: `the pod's ServiceAccount (${server})`,
    current() {
      if (cached && clock() - cached.readAt <= TOKEN_FILE_REREAD_MS) return Promise.resolve(cached.credentials);
      return (reading ??= read().finally(() => (reading = undefined)));
    },
    invalidate() {
      cached = undefined;
    },
  };
}
