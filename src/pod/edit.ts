import type { Container, Pod, PodSpec } from "./types.js";

// Immutable edits: each returns a new Pod that shares every untouched subtree with the input,
// so mutations stay pure and the final diff against the original is small and exact.

export const labelOf = (pod: Pod, key: string): string | undefined => pod.metadata?.labels?.[key];
export const annotationOf = (pod: Pod, key: string): string | undefined => pod.metadata?.annotations?.[key];

export function withLabel(pod: Pod, key: string, value: string): Pod {
  if (labelOf(pod, key) === value) return pod;
  const metadata = pod.metadata ?? {};
  return { ...pod, metadata: { ...metadata, labels: { ...metadata.labels, [key]: value } } };
}

export function withAnnotation(pod: Pod, key: string, value: string): Pod {
  if (annotationOf(pod, key) === value) return pod;
  const metadata = pod.metadata ?? {};
  return { ...pod, metadata: { ...metadata, annotations: { ...metadata.annotations, [key]: value } } };
}

export function withSpec(pod: Pod, changes: Partial<PodSpec>): Pod {
  return { ...pod, spec: { ...pod.spec, ...changes } };
}

export function replaceContainer(containers: readonly Container[], index: number, container: Container): Container[] {
  const copy = containers.slice();
  copy[index] = container;
  return copy;
}
