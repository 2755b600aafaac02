import { annotationOf, labelOf, withAnnotation, withLabel } from "../pod/edit.js";
import type { Pod } from "../pod/types.js";
import { unchanged, type MutationResult } from "./types.js";

/**
 * Sets a label or annotation unless the pod already has one: the user's value always wins. It
 * is in force when it holds the wanted value, whoever wrote it. A different value gets the
 * standard warning (CONFLICT says why mesh-tailor wanted another; false for none).
 */
export function setUnlessUserSet(pod: Pod, field: "labels" | "annotations", key: string, value: string, conflict?: string | false): MutationResult {
  const existing = field === "labels" ? labelOf(pod, key) : annotationOf(pod, key);
  if (existing === undefined) return { pod: field === "labels" ? withLabel(pod, key, value) : withAnnotation(pod, key, value), warnings: [], inForce: true };
  if (existing === value) return unchanged(pod, true);
  return unchanged(
    pod,
    false,
    conflict === false ? [] : [`mesh-tailor: kept ${key}="${existing}" as set on the pod; ${conflict ?? `the policy says "${value}"`}`],
  );
}

/** Several such settings in a row: one result, in force when any of them is. */
export function setAllUnlessUserSet(
  pod: Pod,
  field: "labels" | "annotations",
  values: Readonly<Record<string, string>>,
  conflict?: string | false,
): MutationResult {
  let result: MutationResult = unchanged(pod);
  for (const [key, value] of Object.entries(values)) {
    const next = setUnlessUserSet(result.pod, field, key, value, conflict);
    result = { pod: next.pod, warnings: [...result.warnings, ...next.warnings], inForce: result.inForce || next.inForce };
  }
  return result;
}
