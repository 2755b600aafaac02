import type { KubeConfig } from "@kubernetes/client-node";
import { WorkError } from "../command.js";

export const APPLY_FLAGS = {
  apply: { type: "boolean" },
  context: { type: "string" },
} as const;

type KubeApply = typeof import("../../certs/kube-apply.js");

/**
 * Runs an --apply step, turning API errors and refusals into messages that say what to do.
 * The Kubernetes client is loaded only here: importing it costs over half a second, which
 * every other command would otherwise pay.
 */
export async function withCluster<T>(context: string | undefined, step: (config: KubeConfig, kube: KubeApply) => Promise<T>): Promise<T> {
  const kube = await import("../../certs/kube-apply.js");
  try {
    return await step(kube.loadKubeConfig(context), kube);
  } catch (error) {
    if (error instanceof kube.ApplyRefusedError) throw new WorkError(`--apply refused: ${error.message}`);
    const body = (error as { body?: unknown }).body;
    const detail = body ? ` ${JSON.stringify(body).slice(0, 300)}` : "";
    throw new WorkError(`--apply failed${context ? ` on context ${context}` : ""}: ${(error as Error).message}${detail}. The files on disk are complete; retry, or apply them with kubectl.`);
  }
}
