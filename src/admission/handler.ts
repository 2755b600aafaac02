import fastJsonPatch from "fast-json-patch";
import type { CompiledPolicy } from "../policy/load.js";
import { isPodLike } from "../pod/types.js";
import { runPipeline, type PipelineResult } from "../mutations/pipeline.js";
import { allowed, patched } from "./response.js";
import type { AdmissionRequest, AdmissionResponse } from "./types.js";

export type AdmissionOutcome = "mutated" | "allowed" | "skipped";

/** What the server logs and counts about one admission; nothing else of the pipeline leaves here. */
export interface AdmissionSummary {
  /** "Kind/name" of the pod's workload. */
  readonly workload?: string | undefined;
  readonly service?: string | undefined;
  /** The customizations in force. */
  readonly applied: readonly string[];
  /** The warnings the response carries, as kubectl prints them. */
  readonly warnings: readonly string[];
  /** Customizations that threw and were left out. */
  readonly failures: readonly { readonly mutation: string; readonly error: Error }[];
}

export interface HandledAdmission {
  readonly response: AdmissionResponse;
  readonly outcome: AdmissionOutcome;
  /** Why nothing was done, for the log line. */
  readonly reason?: string;
  readonly summary?: AdmissionSummary;
}

const summarize = (pipeline: PipelineResult): AdmissionSummary => ({
  workload: pipeline.workload ? `${pipeline.workload.kind}/${pipeline.workload.name}` : undefined,
  service: pipeline.serviceName,
  applied: pipeline.applied,
  warnings: pipeline.warnings,
  failures: pipeline.failures,
});

const isPodCreate = (request: AdmissionRequest): boolean =>
  request.operation === "CREATE" && request.kind?.kind === "Pod" && (request.kind.group ?? "") === "" && !request.subResource;

/**
 * The admission decision: a pure function of the request and the policy. It knows nothing about
 * HTTP or TLS. The patch is the diff of the request's own object against the mutated pod, so a
 * field the code does not model can never be dropped.
 */
export function handleAdmission(request: AdmissionRequest, policy: CompiledPolicy): HandledAdmission {
  const { uid } = request;
  if (!isPodCreate(request)) return { response: allowed(uid), outcome: "skipped", reason: "not a Pod CREATE" };
  if (!isPodLike(request.object)) {
    return {
      response: allowed(uid, ["mesh-tailor: request.object is not a Pod with spec.containers; admitted unchanged"]),
      outcome: "skipped",
      reason: "object is not a pod",
    };
  }
  const namespace = request.namespace || request.object.metadata?.namespace || "default";
  const pipeline = runPipeline({ pod: request.object, namespace }, policy);
  if (pipeline.skipped) return { response: allowed(uid), outcome: "skipped", reason: pipeline.skipped, summary: summarize(pipeline) };
  const operations = fastJsonPatch.compare(request.object, pipeline.pod);
  return {
    response: patched(uid, operations, pipeline.warnings),
    outcome: operations.length > 0 ? "mutated" : "allowed",
    summary: summarize(pipeline),
  };
}
