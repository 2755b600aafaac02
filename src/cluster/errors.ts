// The errors of cluster-facing code, in a module that loads nothing: the CLI's error funnel
// imports them without paying for the Kubernetes client.

/** An API error, with the HTTP status and the Status object's reason (NotFound, Conflict, Expired...). */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The kubeconfig cannot be used as asked: the message says what to change. */
export class KubeConfigError extends Error {
  override readonly name = "KubeConfigError";
}

