import { Document, isMap, parseDocument } from "yaml";
import { firstDuplicateKey } from "../util/yaml-keys.js";
import { yamlErrorText } from "../util/yaml-error.js";

/**
 * The largest annotation mesh-tailor parses. A real ProxyConfig override is a few hundred bytes
 * (a handful of fields, some proxyMetadata); Kubernetes allows 256 KiB of annotations, and YAML
 * costs tens of microseconds per key, so without a bound one pod could hold a replica's event
 * loop for seconds. A larger value is left as written, with a warning.
 */
export const MAX_PROXY_CONFIG_CHARS = 16 * 1024;
/** Aliases expanded when converting to JSON: a "billion laughs" value stops here. */
const MAX_ALIAS_COUNT = 100;

/** DOCUMENT keeps comments and layout for editing; VALUE is its plain content (aliases expanded). */
export type ProxyConfigRead = { ok: true; document: Document; value: Record<string, unknown>; json: boolean } | { ok: false; reason: string };

/** Parses a ProxyConfig annotation: bounded in size, duplicate keys and alias bombs refused. */
export function readProxyConfig(text: string): ProxyConfigRead {
  if (text.length > MAX_PROXY_CONFIG_CHARS)
    return { ok: false, reason: `it is ${text.length} characters, over the ${MAX_PROXY_CONFIG_CHARS} mesh-tailor reads` };
  const document = parseDocument(text, { uniqueKeys: false });
  if (document.errors.length > 0) return { ok: false, reason: yamlErrorText(document.errors[0]!.message) };
  if (!isMap(document.contents)) return { ok: false, reason: "it is not a mapping of ProxyConfig fields" };
  const duplicate = firstDuplicateKey(document);
  if (duplicate !== undefined) return { ok: false, reason: duplicate };
  let value: Record<string, unknown>;
  try {
    value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as Record<string, unknown>;
  } catch (error) {
    return { ok: false, reason: yamlErrorText((error as Error).message) };
  }
  return { ok: true, document, value, json: text.trimStart().startsWith("{") };
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
// Fields (as made by fieldsKey), then annotation text: no key is built per pod.
const memo = new Map<string, Map<string, FieldsMerge>>();
let memoEntries = 0;
let memoChars = 0;

/** Entries and characters the memo holds now (for tests of its bound). */
export const mergeMemoSize = (): { entries: number; chars: number } => ({ entries: memoEntries, chars: memoChars });

const sameValue = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

// The fields objects are constants or live in the compiled policy: their part of the memo key is
// made once per object, not once per pod.
const fieldsKeys = new WeakMap<object, string>();
function fieldsKey(fields: Readonly<Record<string, unknown>>): string {
  let key = fieldsKeys.get(fields);
  if (key === undefined) fieldsKeys.set(fields, (key = JSON.stringify(fields)));
  return key;
}

/**
 * Sets FIELDS in a ProxyConfig annotation (undefined or blank: none yet), keeping every other
 * field and comment, YAML staying YAML and JSON staying JSON. A field the user already set to
 * another value is kept, and reported in `kept`.
 */
export function mergeProxyConfigFields(existing: string | undefined, fields: Readonly<Record<string, unknown>>): FieldsMerge {
  // Over the size it parses, the answer is immediate and not worth remembering. A pod with no
  // annotation yet (every selected pod's first call) is remembered like any other text.
  if (existing !== undefined && existing.length > MAX_PROXY_CONFIG_CHARS) return mergeParsed(existing, fields);
  const text = existing ?? "";
  const forFields = fieldsKey(fields);
  const remembered = memo.get(forFields)?.get(text);
  if (remembered) return remembered;
  const merge = Object.freeze(mergeParsed(text, fields));
  const chars = forFields.length + text.length + (merge.kind === "merged" ? merge.text.length : 0);
  if (memoEntries >= MEMO_ENTRIES || memoChars + chars > MERGE_MEMO_CHARS) {
    memo.clear();
    memoEntries = 0;
    memoChars = 0;
  }
  let texts = memo.get(forFields);
  if (!texts) memo.set(forFields, (texts = new Map<string, FieldsMerge>()));
  texts.set(text, merge);
  memoEntries++;
  memoChars += chars;
  return merge;
}

const isPlainMap = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** How many values FIELDS sets: a map field (proxyMetadata) counts each of its keys. */
export const fieldLeaves = (fields: Readonly<Record<string, unknown>>): number =>
  Object.values(fields).reduce<number>((sum, value) => sum + (isPlainMap(value) ? Object.keys(value).length : 1), 0);

/** The value FIELDS sets at PATH, a field or "field.key" of a map field, as `kept` names it. */
export function wantedAt(fields: Readonly<Record<string, unknown>>, path: string): unknown {
  if (path in fields) return fields[path];
  const dot = path.indexOf(".");
  const map = dot === -1 ? undefined : fields[path.slice(0, dot)];
  return isPlainMap(map) ? map[path.slice(dot + 1)] : undefined;
}

function mergeParsed(existing: string, fields: Readonly<Record<string, unknown>>): FieldsMerge {
  if (existing.trim() === "") return { kind: "merged", text: new Document(fields).toString(), kept: {} };
  const read = readProxyConfig(existing);
  if (!read.ok) return { kind: "unreadable", reason: read.reason };
  const kept: Record<string, unknown> = {};
  const added: Record<string, unknown> = {};
  // A map field the pod already has (proxyMetadata) is merged key by key: its other keys stay.
  const addedKeys: [field: string, key: string, value: unknown][] = [];
  for (const [field, value] of Object.entries(fields)) {
    const own = read.value[field];
    if (!(field in read.value)) added[field] = value;
    // A map written as a mapping (an alias, for one, cannot take a key): the rest is kept whole.
    else if (isPlainMap(value) && isPlainMap(own) && (read.json || isMap(read.document.get(field, true)))) {
      for (const [key, wanted] of Object.entries(value)) {
        if (!Object.hasOwn(own, key)) addedKeys.push([field, key, wanted]);
        else if (!sameValue(own[key], wanted)) kept[`${field}.${key}`] = own[key];
      }
    } else if (!sameValue(own, value)) kept[field] = own;
  }
  if (Object.keys(added).length === 0 && addedKeys.length === 0) return { kind: "unchanged", kept };
  // In the form it came in: JSON stays JSON, YAML keeps its comments and layout.
  if (read.json) {
    const merged: Record<string, unknown> = { ...read.value, ...added };
    for (const [field, key, value] of addedKeys) merged[field] = { ...(merged[field] as Record<string, unknown>), [key]: value };
    return { kind: "merged", text: JSON.stringify(merged), kept };
  }
  for (const [field, value] of Object.entries(added)) read.document.set(field, value);
  for (const [field, key, value] of addedKeys) read.document.setIn([field, key], value);
  return { kind: "merged", text: read.document.toString(), kept };
}
