// The errors of cluster-facing code, in a module that loads nothing: the CLI's error funnel
// imports them without paying for the Kubernetes client.

/** One cause of a Status (metav1.StatusCause): a field or condition the API server names. */
export interface StatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

/**
 * An API error, with the HTTP status and the Status object's reason (NotFound, Conflict,
 * Expired...). Status 0 means no answer: reason Unreachable (the connection failed or broke),
 * Timeout (the request's deadline passed), Aborted (its signal fired) or TooLarge.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly causes: readonly StatusCause[] = [],
  ) {
    super(message);
  }
}

/** The kubeconfig cannot be used as asked: the message says what to change. */
export class KubeConfigError extends Error {
  override readonly name = "KubeConfigError";
}

const statusOf = (error: unknown): number | undefined => (error instanceof ApiError ? error.status : undefined);

export const isNotFound = (error: unknown): boolean => statusOf(error) === 404;
export const isConflict = (error: unknown): boolean => statusOf(error) === 409;
export const isGone = (error: unknown): boolean => statusOf(error) === 410;
export const isForbidden = (error: unknown): boolean => statusOf(error) === 403;
/** The request was cut by its caller's signal: not a failure of the API server. */
export const isAborted = (error: unknown): boolean => error instanceof ApiError && error.reason === "Aborted";
/** No answer at all (refused, reset, timed out): the API server may be down or unreachable. */
export const isUnreachable = (error: unknown): boolean =>
  error instanceof ApiError && error.status === 0 && (error.reason === "Unreachable" || error.reason === "Timeout");

/**
 * A LIST or WATCH from a resourceVersion the API server has not reached yet (an HA control plane
 * whose caches lag, or an etcd restored from backup). kube-apiserver answers 504 Timeout with the
 * cause ResourceVersionTooLarge (apimachinery storage.NewTooLargeResourceVersionError); like
 * client-go's reflector, the caller lists afresh from the newest state.
 */
export const isResourceVersionTooLarge = (error: unknown): boolean =>
  error instanceof ApiError &&
  (error.causes.some((c) => c.reason === "ResourceVersionTooLarge") || (error.reason === "Timeout" && /too large resource version/i.test(error.message)));

/** A Status answer (or any error body) as an ApiError that says what was asked. */
export function statusError(status: number, body: string, what: string): ApiError {
  let reason = "";
  let message = body.slice(0, 300);
  let causes: StatusCause[] = [];
  try {
    const parsed = JSON.parse(body) as { reason?: string; message?: string; details?: { causes?: StatusCause[] } };
    reason = parsed.reason ?? "";
    message = parsed.message ?? message;
    causes = Array.isArray(parsed.details?.causes) ? parsed.details.causes.slice(0, 20) : [];
  } catch {
    // Not a Status object: the text itself says it.
  }
  return new ApiError(status, reason, `${what}: ${status}${reason ? ` ${reason}` : ""}: ${message}`, causes);
}

/**
 * Worth trying again after a wait: no answer at all, the API server overloaded (429) or failing
 * (5xx), a request timed out on its side. Not a refusal: those say what to change.
 */
export const isTransient = (error: unknown): boolean =>
  error instanceof ApiError &&
  ((error.status === 0 && (error.reason === "Unreachable" || error.reason === "Timeout")) || error.status === 429 || error.status >= 500);
