import { isMap, isScalar, parseDocument, visit, type Document } from "yaml";

/**
 * The largest annotation mesh-tailor parses. A real ProxyConfig override is a few hundred bytes
 * (a handful of fields, some proxyMetadata); Kubernetes allows 256 KiB of annotations, and YAML
 * costs tens of microseconds per key, so without a bound one pod could hold a replica's event
 * loop for seconds. A larger value is left as written, with a warning.
 */
export const MAX_PROXY_CONFIG_CHARS = 16 * 1024;
/** Aliases expanded when converting to JSON: a "billion laughs" value stops here. */
const MAX_ALIAS_COUNT = 100;

export type ProxyConfigRead = { ok: true; document: Document; json: boolean } | { ok: false; reason: string };

/**
 * Parses a ProxyConfig annotation: bounded in size, and with duplicate keys found in one linear
 * pass (the yaml library's own uniqueKeys check compares every key with every other one).
 */
export function readProxyConfig(text: string): ProxyConfigRead {
  if (text.length > MAX_PROXY_CONFIG_CHARS) return { ok: false, reason: `it is ${text.length} characters, over the ${MAX_PROXY_CONFIG_CHARS} mesh-tailor reads` };
  const document = parseDocument(text, { uniqueKeys: false });
  if (document.errors.length > 0) return { ok: false, reason: document.errors[0]!.message.split("\n")[0]! };
  if (!isMap(document.contents)) return { ok: false, reason: "it is not a mapping of ProxyConfig fields" };
  const duplicate = firstDuplicateKey(document);
  if (duplicate !== undefined) return { ok: false, reason: `the key ${JSON.stringify(duplicate.slice(0, 64))} appears twice` };
  try {
    document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    return { ok: false, reason: (error as Error).message.split("\n")[0]! };
  }
  return { ok: true, document, json: text.trimStart().startsWith("{") };
}

function firstDuplicateKey(document: Document): string | undefined {
  let duplicate: string | undefined;
  visit(document, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (seen.has(key)) {
          duplicate = String(key);
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return duplicate;
}

/** The document as text in the form it came in: JSON stays JSON, YAML keeps its comments. */
export function proxyConfigText(read: Extract<ProxyConfigRead, { ok: true }>): string {
  return read.json ? JSON.stringify(read.document.toJS({ maxAliasCount: MAX_ALIAS_COUNT })) : read.document.toString();
}
