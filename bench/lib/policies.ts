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

/** The shapes bench:policy measures, and bench:memory loads the costliest of. */
export type GeneratedShape = "literal" | "flow" | "glob" | "rich" | "annotations" | "adversarial" | "shared-name";

const ADVERSARIAL_RUN = 31;
const HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices:\n";

/**
 * N entries of SHAPE: literal names (the costliest valid policy to hold is 19,000 of them, 0.97 MB);
 * one-line entries; globbed names and namespaces; globs as slow as a glob can be, by name or by
 * namespace; literal names, each with settings; one entry with ENTRIES annotations.
 */
export function generatedPolicy(shape: GeneratedShape, entries: number): string {
  const lines: string[] = [HEADER];
  // One entry with ENTRIES annotations: the largest mapping 1 MiB holds.
  if (shape === "annotations") lines.push("  - name: s\n    annotations:\n");
  for (let i = 0; i < entries; i++) {
    if (shape === "annotations") lines.push(`      example.istio.io/k${i}: "v${i}"\n`);
    if (shape === "literal") lines.push(`  - namespace: "shop-${i}"\n    name: service-${i}\n`);
    // The most entries 1 MiB holds: one line each.
    if (shape === "flow") lines.push(`  - {name: s${i}}\n`);
    if (shape === "glob") lines.push(`  - namespace: "team-${i}-*"\n    name: "svc-*-${i}"\n`);
    // The most steps a glob match takes: after its star, a long run that fails only at its end,
    // retried from every position of a 63-character name of "a"s.
    if (shape === "adversarial") lines.push(`  - namespace: "*"\n    name: "*${"a".repeat(ADVERSARIAL_RUN)}b${i}"\n`);
    // Every lookup of "web" tries each entry's namespace glob, each as slow as it can be.
    if (shape === "shared-name") lines.push(`  - namespace: "*${"a".repeat(ADVERSARIAL_RUN)}b${i}"\n    name: web\n`);
    if (shape === "rich")
      lines.push(
        `  - namespace: "shop-${i}"\n    name: service-${i}\n    labels: {sidecar.istio.io/interceptionMode: REDIRECT}\n` +
          `    annotations: {traffic.sidecar.istio.io/excludeOutboundPorts: "${i % 60000}"}\n    proxyConfig: {concurrency: 2}\n`,
      );
  }
  return lines.join("");
}

/** ENTRIES entries, each with an alias of one anchored mapping of 1,000 annotations. */
export function aliasedPolicy(entries: number): string {
  const annotations = Array.from({ length: 1_000 }, (_, i) => `      example.istio.io/k${i}: "${"v".repeat(20)}"`).join("\n");
  const lines = [`${HEADER}  - name: s0\n    annotations: &many\n${annotations}\n`];
  for (let i = 1; i < entries; i++) lines.push(`  - name: s${i}\n    annotations: *many\n`);
  return lines.join("");
}
