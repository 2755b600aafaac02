import type { KubeApi } from "../kube/client.js";
import type { ResolvedPolicy } from "../ops/installed-policy.js";

/**
 * Runs WORK against the cluster of CONTEXT. The connection (its credentials resolve in a worker
 * thread) and the command's own modules (LOADING) are awaited together, so the two overlap; the
 * Kubernetes client is loaded only here, so offline commands never pay for it. The connection is
 * closed however WORK ends.
 */
export async function withCluster<M, T>(context: string | undefined, loading: Promise<M>, work: (api: KubeApi, loaded: M) => Promise<T>): Promise<T> {
  const connecting = import("../kube/client.js").then(({ KubeApi }) => KubeApi.connect(context));
  const [api, loaded] = await Promise.all([connecting, loading]);
  try {
    return await work(api, loaded);
  } finally {
    api.close();
  }
}

/** withCluster, with the policy a cluster command judges by (--config, else the installed one, else the built-in). */
export function withClusterPolicy<M, T>(
  context: string | undefined,
  configFile: string | undefined,
  loading: Promise<M>,
  work: (api: KubeApi, policy: ResolvedPolicy, loaded: M) => Promise<T>,
): Promise<T> {
  return withCluster(context, Promise.all([import("../ops/installed-policy.js"), loading]), async (api, [{ resolvePolicy }, loaded]) =>
    work(api, await resolvePolicy(api, configFile), loaded),
  );
}
