import { stringify } from "yaml";

/** The service every benchmark pod belongs to: shop/reviews. */
export const BENCH_NAMESPACE = "shop";
export const BENCH_SERVICE = "reviews";

/**
 * A policy with SIZE service entries shaped like a large estate's: literal names across many
 * team namespaces, a few namespace globs, and the benchmark's own service as the very last
 * entry, so that a policy matched by scanning would pay for every entry before it.
 */
export function policyWithServices(size: number): string {
  const services: Record<string, unknown>[] = [];
  const globs = Math.min(4, Math.max(0, size - 1));
  for (let i = 0; i < size - 1 - globs; i++) {
    services.push({
      namespace: `team-${String(i % 40).padStart(2, "0")}`,
      name: `svc-${String(i).padStart(5, "0")}`,
      inject: i % 3 !== 0,
      ...(i % 10 === 0 ? { hostPassthrough: "outbound" } : {}),
    });
  }
  for (let i = 0; i < globs; i++) services.push({ namespace: `sandbox-${i}-*`, name: `api-${i}`, inject: true });
  services.push({ namespace: BENCH_NAMESPACE, name: BENCH_SERVICE, inject: true, hostPassthrough: "both" });
  return stringify({
    apiVersion: "mesh-tailor.io/v1alpha1",
    kind: "TailorPolicy",
    defaults: { inject: false, proxyResources: { cpu: "100m", memory: "128Mi" } },
    services,
    locality: { default: "eu-west1.eu-west1-b" },
  });
}
