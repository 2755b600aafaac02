import { Document, isMap, parseDocument } from "yaml";
import { firstDuplicateKey } from "../util/yaml-keys.js";

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

/** Parses a ProxyConfig annotation: bounded in size, duplicate keys and alias bombs refused. */
export function readProxyConfig(text: string): ProxyConfigRead {
  if (text.length > MAX_PROXY_CONFIG_CHARS) return { ok: false, reason: `it is ${text.length} characters, over the ${MAX_PROXY_CONFIG_CHARS} mesh-tailor reads` };
  const document = parseDocument(text, { uniqueKeys: false });
  if (document.errors.length > 0) return { ok: false, reason: document.errors[0]!.message.split("\n")[0]! };
  if (!isMap(document.contents)) return { ok: false, reason: "it is not a mapping of ProxyConfig fields" };
  const duplicate = firstDuplicateKey(document);
  if (duplicate !== undefined) return { ok: false, reason: duplicate };
  try {
    document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    return { ok: false, reason: (error as Error).message.split("\n")[0]! };
  }
  return { ok: true, document, json: text.trimStart().startsWith("{") };
}

/** The document as text in the form it came in: JSON stays JSON, YAML keeps its comments. */
export function proxyConfigText(read: Extract<ProxyConfigRead, { ok: true }>): string {
  return read.json ? JSON.stringify(read.document.toJS({ maxAliasCount: MAX_ALIAS_COUNT })) : read.document.toString();
}

export type FieldsMerge =
  /** TEXT is the annotation with the fields set; KEPT are fields the user had set to something else. */
  | { readonly kind: "merged"; readonly text: string; readonly kept: Readonly<Record<string, unknown>> }
  /** Every field already holds the wanted value or the user's own. */
  | { readonly kind: "unchanged"; readonly kept: Readonly<Record<string, unknown>> }
  | { readonly kind: "unreadable"; readonly reason: string };

// Every pod of a workload carries the same annotation text, and parsing YAML was the costliest
// step of the whole admission: remember recent answers (the merge is pure). Bounded in entries
// and in characters held (keys and merged texts), and simply emptied when either is reached,
// so a stream of distinct values cannot grow it.
const MEMO_ENTRIES = 1024;
export const MERGE_MEMO_CHARS = 2 * 1024 * 1024;
const memo = new Map<string, FieldsMerge>();
let memoChars = 0;

/** Entries and characters the memo holds now (for tests of its bound). */
export const mergeMemoSize = (): { entries: number; chars: number } => ({ entries: memo.size, chars: memoChars });

const sameValue = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Sets FIELDS in a ProxyConfig annotation (undefined or blank: none yet), keeping every other
 * field and comment, YAML staying YAML and JSON staying JSON. A field the user already set to
 * another value is kept, and reported in `kept`.
 */
export function mergeProxyConfigFields(existing: string | undefined, fields: Readonly<Record<string, unknown>>): FieldsMerge {
  if (existing === undefined || existing.trim() === "") {
    const document = new Document(fields);
    return { kind: "merged", text: document.toString(), kept: {} };
  }
  // Over the size it parses, the answer is immediate and not worth remembering.
  if (existing.length > MAX_PROXY_CONFIG_CHARS) return mergeParsed(existing, fields);
  const key = `${JSON.stringify(fields)}\0${existing}`;
  const remembered = memo.get(key);
  if (remembered) return remembered;
  const merge = Object.freeze(mergeParsed(existing, fields));
  const chars = key.length + (merge.kind === "merged" ? merge.text.length : 0);
  if (memo.size >= MEMO_ENTRIES || memoChars + chars > MERGE_MEMO_CHARS) {
    memo.clear();
    memoChars = 0;
  }
  memo.set(key, merge);
  memoChars += chars;
  return merge;
}

function mergeParsed(existing: string, fields: Readonly<Record<string, unknown>>): FieldsMerge {
  const read = readProxyConfig(existing);
  if (!read.ok) return { kind: "unreadable", reason: read.reason };
  const kept: Record<string, unknown> = {};
  let changed = false;
  for (const [field, value] of Object.entries(fields)) {
    if (!read.document.has(field)) {
      read.document.set(field, value);
      changed = true;
      continue;
    }
    const current: unknown = read.document.getIn([field]);
    const plain = current !== null && typeof current === "object" && "toJSON" in current ? (current as { toJSON(): unknown }).toJSON() : current;
    if (!sameValue(plain, value)) kept[field] = plain;
  }
  return changed ? { kind: "merged", text: proxyConfigText(read), kept } : { kind: "unchanged", kept };
}
