// What a policy may cost, checked before it is accepted (`policy validate`, start and every
// reload). The figures come from `npm run bench:policy`; the README's Limits section has its table.
import { globCost } from "./glob.js";
import type { TailorPolicy } from "./schema.js";

/**
 * `services` entries. 20,000 is about what 1 MiB of one-line entries holds; a replica loading
 * them peaks near 170 MB while the policy in force is still held, which the 384Mi limit allows.
 */
export const MAX_SERVICE_ENTRIES = 20_000;

/**
 * The document with its YAML aliases expanded, counted as characters of text plus 8 per value.
 * Without aliases a 1 MiB policy counts well under it; with them, 100 aliases of a large mapping
 * would otherwise multiply what validation and the held policy cost.
 */
export const MAX_EXPANDED_SIZE = 2 * 1024 * 1024;

/**
 * Glob characters one lookup may try: those of every glob-named entry, plus those of the globbed
 * namespaces of the entries that share the most-shared literal name. A glob costs at most its
 * length times the name's in steps: with this bound the slowest lookup takes about 1.2 ms on a
 * 63-character name (a Service's, a label value's), four times that on the longest workload name
 * looked up (253, ServiceIndex), and an admission looks up at most two names. A policy of
 * ordinary globs ("team-*") holds hundreds of them.
 */
export const MAX_LOOKUP_GLOB_CHARACTERS = 4_096;

const VALUE_COST = 8;

/** Why DOCUMENT (parsed YAML, aliases expanded) is over the size limits, or undefined. Stops counting at the bound. */
export function documentSizeProblem(document: unknown): string | undefined {
  const services = (document as { services?: unknown } | null)?.services;
  if (Array.isArray(services) && services.length > MAX_SERVICE_ENTRIES)
    return (
      `services: ${services.length} entries, over the limit of ${MAX_SERVICE_ENTRIES} entries per policy ` +
      "(each costs memory in every replica: cover services with defaults and namespace globs rather than one entry each)"
    );
  let size = 0;
  const stack: unknown[] = [document];
  while (stack.length > 0) {
    const value = stack.pop();
    size += VALUE_COST;
    if (typeof value === "string") size += value.length;
    else if (Array.isArray(value)) for (const item of value) stack.push(item);
    else if (value !== null && typeof value === "object")
      for (const [key, item] of Object.entries(value)) {
        size += key.length;
        stack.push(item);
      }
    if (size > MAX_EXPANDED_SIZE)
      return (
        `the policy, parsed, is over the limit of ${MAX_EXPANDED_SIZE} characters (its text with YAML aliases expanded, plus 8 per value): ` +
        "write fewer aliases of large mappings, or fewer values"
      );
  }
  return undefined;
}

/** The most glob characters one lookup in POLICY's services may try (see MAX_LOOKUP_GLOB_CHARACTERS). */
export function lookupGlobCharacters(services: TailorPolicy["services"]): number {
  let globNamed = 0;
  const byLiteralName = new Map<string, number>();
  for (const entry of services) {
    const nameCost = globCost(entry.name);
    const namespaceCost = globCost(entry.namespace);
    if (nameCost > 0) globNamed += nameCost + namespaceCost;
    else if (namespaceCost > 0) byLiteralName.set(entry.name, (byLiteralName.get(entry.name) ?? 0) + namespaceCost);
  }
  let sharedName = 0;
  for (const cost of byLiteralName.values()) sharedName = Math.max(sharedName, cost);
  return globNamed + sharedName;
}

/** Why POLICY's lookups would cost more than the limit, or undefined. */
export function lookupCostProblem(policy: TailorPolicy): string | undefined {
  const characters = lookupGlobCharacters(policy.services);
  if (characters <= MAX_LOOKUP_GLOB_CHARACTERS) return undefined;
  return (
    `services: one lookup would try ${characters} characters of glob, over the limit of ${MAX_LOOKUP_GLOB_CHARACTERS} per lookup ` +
    "(name services literally where you can: a literal name is looked up, not tried)"
  );
}
