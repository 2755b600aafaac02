import type { KubeObject } from "../kube/object.js";
import type { CompiledPolicy } from "../policy/load.js";

/** The base namespace a sandbox namespace belongs to under the policy's pattern, if it is one. */
export function sandboxBaseOf(namespace: string, policy: CompiledPolicy): string | undefined {
  const base = policy.sandboxGroups(namespace)?.["base"];
  return base && base !== namespace ? base : undefined;
}

/** Being deleted: nothing new is created in it, nothing about it is decided. */
export const isTerminating = (namespace: KubeObject): boolean =>
  Boolean(namespace.metadata.deletionTimestamp) || (namespace["status"] as { phase?: string } | undefined)?.phase === "Terminating";
