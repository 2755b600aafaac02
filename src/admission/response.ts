import type { Operation } from "fast-json-patch";
import type { AdmissionResponse, AdmissionReview, AdmissionVersion } from "./types.js";

// Small constructors, so every answer is built the same way.

export const allowed = (uid: string, warnings: readonly string[] = []): AdmissionResponse =>
  warnings.length > 0 ? { uid, allowed: true, warnings: [...warnings] } : { uid, allowed: true };

export function patched(uid: string, operations: readonly Operation[], warnings: readonly string[] = []): AdmissionResponse {
  if (operations.length === 0) return allowed(uid, warnings);
  const response: AdmissionResponse = {
    uid,
    allowed: true,
    patchType: "JSONPatch",
    patch: Buffer.from(JSON.stringify(operations)).toString("base64"),
  };
  if (warnings.length > 0) response.warnings = [...warnings];
  return response;
}

export const review = (apiVersion: AdmissionVersion, response: AdmissionResponse): AdmissionReview => ({ apiVersion, kind: "AdmissionReview", response });
