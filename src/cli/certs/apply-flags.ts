import type { KubeApi } from "../../kube/client.js";
import { withCluster } from "../cluster-session.js";
import { WorkError } from "../command.js";

export const APPLY_FLAGS = {
  apply: { type: "boolean" },
  context: { type: "string" },
} as const;

type CertsApply = typeof import("../../ops/certs-apply.js");

/**
 * Runs an --apply step through the one Kubernetes client, turning API errors and refusals into
 * messages that say what to do. The cluster code is loaded only here, so the offline steps of
 * `certs` never pay for it.
 */
export async function applyToCluster<T>(context: string | undefined, step: (api: KubeApi, apply: CertsApply) => Promise<T>): Promise<T> {
  const apply = await import("../../ops/certs-apply.js");
  try {
    return await withCluster(context, Promise.resolve(apply), step);
  } catch (error) {
    if (error instanceof apply.ApplyRefusedError) throw new WorkError(`--apply refused: ${error.message}`);
    throw new WorkError(
      `--apply failed${context ? ` on context ${context}` : ""}: ${(error as Error).message}. The files on disk are complete; retry, or apply them with kubectl.`,
    );
  }
}
