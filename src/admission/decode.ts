import { ADMISSION_VERSIONS, type AdmissionRequest, type AdmissionVersion } from "./types.js";

export type DecodeResult = { ok: true; version: AdmissionVersion; request: AdmissionRequest } | { ok: false; message: string };

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** Checks an already-parsed JSON body is an AdmissionReview request mesh-tailor can answer. */
export function decodeAdmissionReview(body: unknown): DecodeResult {
  if (!isObject(body)) return { ok: false, message: "the body must be a JSON object: an AdmissionReview" };
  const { apiVersion, kind, request } = body;
  if (kind !== "AdmissionReview") return { ok: false, message: `kind must be "AdmissionReview", got ${JSON.stringify(kind ?? null)}` };
  if (!ADMISSION_VERSIONS.includes(apiVersion as AdmissionVersion)) {
    return { ok: false, message: `apiVersion must be one of ${ADMISSION_VERSIONS.join(", ")}, got ${JSON.stringify(apiVersion ?? null)}` };
  }
  if (!isObject(request)) return { ok: false, message: "the AdmissionReview has no request object" };
  if (typeof request["uid"] !== "string" || request["uid"] === "") return { ok: false, message: "request.uid must be a non-empty string" };
  return { ok: true, version: apiVersion as AdmissionVersion, request: request as AdmissionRequest };
}
