import { describeValue } from "../util/describe-value.js";
import { ADMISSION_VERSIONS, type AdmissionRequest, type AdmissionVersion } from "./types.js";

export type DecodeResult = { ok: true; version: AdmissionVersion; request: AdmissionRequest } | { ok: false; message: string };

// A UUID is 36 characters; 128 leaves room for any client that makes its own.
export const MAX_UID_LENGTH = 128;

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** Checks an already-parsed JSON body is an AdmissionReview request mesh-tailor can answer. */
export function decodeAdmissionReview(body: unknown): DecodeResult {
  if (!isObject(body)) return { ok: false, message: "the body must be a JSON object: an AdmissionReview" };
  const { apiVersion, kind, request } = body;
  if (kind !== "AdmissionReview") return { ok: false, message: `kind must be "AdmissionReview", got ${describeValue(kind)}` };
  if (!ADMISSION_VERSIONS.includes(apiVersion as AdmissionVersion)) {
    return { ok: false, message: `apiVersion must be one of ${ADMISSION_VERSIONS.join(", ")}, got ${describeValue(apiVersion)}` };
  }
  if (!isObject(request)) return { ok: false, message: "the AdmissionReview has no request object" };
  const uid = request["uid"];
  if (typeof uid !== "string" || uid === "") return { ok: false, message: "request.uid must be a non-empty string" };
  // kube-apiserver sends a UUID; a uid it could not have sent is refused rather than echoed.
  if (uid.length > MAX_UID_LENGTH)
    return { ok: false, message: `request.uid must be at most ${MAX_UID_LENGTH} characters (kube-apiserver sends a UUID), got ${uid.length}` };
  return { ok: true, version: apiVersion as AdmissionVersion, request: request as AdmissionRequest };
}
