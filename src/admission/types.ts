// The admission.k8s.io AdmissionReview wire format (k8s.io/api/admission/v1/types.go).
// v1beta1 has the same shape; a response must carry the version of its request.

export const ADMISSION_VERSIONS = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] as const;
export type AdmissionVersion = (typeof ADMISSION_VERSIONS)[number];

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface AdmissionRequest {
  uid: string;
  kind?: GroupVersionKind;
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation?: string;
  dryRun?: boolean;
  object?: unknown;
  oldObject?: unknown;
  [field: string]: unknown;
}

export interface AdmissionReview {
  apiVersion: AdmissionVersion;
  kind: "AdmissionReview";
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: "JSONPatch";
  /** base64 of a JSON Patch (RFC 6902) array. */
  patch?: string;
  warnings?: string[];
  status?: { code?: number; message?: string };
}
