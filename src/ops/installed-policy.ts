import { builtInPolicy, loadPolicy, PolicyError, type CompiledPolicy } from "../policy/load.js";
import { readPolicyFile } from "../policy/read-file.js";
import { type KubeObject } from "../kube/object.js";
import { ApiError, isForbidden, isNotFound } from "../kube/errors.js";
import { type KubeApi } from "../kube/client.js";

/** Where the installed policy lives: manifests/ and the Helm chart put it here. */
export const POLICY_CONFIGMAP = { namespace: "mesh-tailor", name: "mesh-tailor-policy", key: "policy.yaml" } as const;

export interface ResolvedPolicy {
  readonly policy: CompiledPolicy;
  /** Where it came from, for the command's output. */
  readonly origin: string;
}

/**
 * The policy a cluster command judges by: --config FILE when given, else the one installed in
 * the cluster (the ConfigMap the webhook and the controller mount), else the built-in one.
 */
export async function resolvePolicy(
  api: Pick<KubeApi, "get">,
  configFile: string | undefined,
  configMap: { namespace: string; name: string } = POLICY_CONFIGMAP,
): Promise<ResolvedPolicy> {
  if (configFile) return { policy: await readPolicyFile(configFile), origin: configFile };
  const where = `ConfigMap ${configMap.namespace}/${configMap.name}`;
  let object: KubeObject & { data?: Record<string, string> };
  try {
    object = await api.get(`/api/v1/namespaces/${configMap.namespace}/configmaps/${configMap.name}`);
  } catch (error) {
    if (isNotFound(error)) return { policy: builtInPolicy(), origin: `built-in (no ${where})` };
    if (isForbidden(error)) {
      throw new ApiError(
        403,
        "Forbidden",
        `cannot read the installed policy (${where}): forbidden to this user. Ask for the mesh-tailor-reader ClusterRole (manifests/reader-rbac.yaml), or judge by a policy file: --config FILE`,
      );
    }
    throw error;
  }
  const text = object.data?.[POLICY_CONFIGMAP.key];
  if (text === undefined) return { policy: builtInPolicy(), origin: `built-in (${where} has no ${POLICY_CONFIGMAP.key})` };
  try {
    return { policy: loadPolicy(text, `${where} ${POLICY_CONFIGMAP.key}`), origin: where };
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    // The webhook keeps serving the last valid policy it had (mesh-tailor doctor says which).
    throw new PolicyError(
      error.origin,
      error.problems,
      "The installed policy is invalid: the webhook keeps serving the last valid one it loaded (mesh-tailor doctor says which). Fix the ConfigMap, or judge by a policy file: --config FILE",
    );
  }
}

/** The installed policy's text (ConfigMap NAMESPACE/mesh-tailor-policy), or undefined when there is none. */
export async function readInstalledPolicyText(api: Pick<KubeApi, "get">, namespace: string = POLICY_CONFIGMAP.namespace): Promise<string | undefined> {
  try {
    const object = await api.get<KubeObject & { data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/configmaps/${POLICY_CONFIGMAP.name}`);
    return object.data?.[POLICY_CONFIGMAP.key];
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
