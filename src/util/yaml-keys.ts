import { isScalar, visit, type Document, type LineCounter } from "yaml";

// Duplicate keys in one pass. The yaml library's own check (uniqueKeys) compares every key of a
// mapping with every other one: a 60,000-key mapping took 40 s. Every YAML mesh-tailor reads
// (policies, manifests, ProxyConfig annotations) is parsed with uniqueKeys: false and checked here.

/** The first key that appears twice in one mapping of DOCUMENT, and where (with a LineCounter). */
export function firstDuplicateKey(document: Document, lines?: LineCounter): string | undefined {
  let found: string | undefined;
  visit(document, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (seen.has(key)) {
          const offset = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
          const at = lines && offset !== undefined ? lines.linePos(offset) : undefined;
          found = `${at ? `line ${at.line}, column ${at.col}: ` : ""}the key ${JSON.stringify(String(key).slice(0, 64))} appears twice in one mapping`;
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return found;
}
