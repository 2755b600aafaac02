import { KubeConfig } from "@kubernetes/client-node";
import { KubeConfigError } from "./errors.js";

export { KubeConfigError };

/**
 * The cluster every cluster-facing command talks to: $KUBECONFIG (its files merged), else
 * ~/.kube/config, else the pod's own ServiceAccount when running in a cluster; CONTEXT picks
 * one of the kubeconfig's contexts.
 */
export function loadKubeConfig(context: string | undefined): KubeConfig {
  const config = new KubeConfig();
  try {
    config.loadFromDefault();
  } catch (error) {
    throw new KubeConfigError(`cannot read the kubeconfig (${(error as Error).message}); set KUBECONFIG or --context`);
  }
  if (context) {
    if (!config.getContexts().some((c) => c.name === context)) {
      throw new KubeConfigError(
        `no context "${context}" in the kubeconfig; contexts: ${
          config
            .getContexts()
            .map((c) => c.name)
            .join(", ") || "none"
        }`,
      );
    }
    config.setCurrentContext(context);
  }
  if (!config.getCurrentCluster())
    throw new KubeConfigError("no cluster to talk to: set KUBECONFIG, create ~/.kube/config, or run inside a pod with a ServiceAccount");
  return config;
}
