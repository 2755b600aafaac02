import * as meshTailor from "../keys/mesh-tailor.js";

/**
 * Whether a pod (or pod template) asks mesh-tailor to leave it alone: `mesh-tailor.io/skip:
 * "true"`, that value only, as Kubernetes compares label values (any other value is no request).
 */
export const isSkipLabelled = (pod: { readonly metadata?: { readonly labels?: Readonly<Record<string, string>> | undefined } | undefined }): boolean =>
  pod.metadata?.labels?.[meshTailor.SKIP] === "true";
