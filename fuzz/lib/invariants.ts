// What every answer must satisfy, whatever was sent.
import fastJsonPatch from "fast-json-patch";

export interface Answer {
  readonly status: number;
  readonly body: string;
}

// The integer fields mesh-tailor writes, which kube-apiserver decodes as int64.
const INT64_FIELDS = [/^\/spec\/terminationGracePeriodSeconds$/, /\/lifecycle\/(preStop|postStart)\/sleep\/seconds$/];
const INT64_MAX = 2n ** 63n - 1n;

type Operation = { op: string; path: string; value?: unknown };

/** Every [path, value] in a JSON tree, the root included; iterative, so any depth the server takes, the checker takes. */
function entries(root: unknown, rootPath: string): [string, unknown][] {
  const found: [string, unknown][] = [];
  const stack: [string, unknown][] = [[rootPath, root]];
  while (stack.length > 0) {
    const [path, value] = stack.pop()!;
    found.push([path, value]);
    if (Array.isArray(value)) value.forEach((child, i) => stack.push([`${path}/${i}`, child]));
    else if (value !== null && typeof value === "object") for (const [key, child] of Object.entries(value)) stack.push([`${path}/${key}`, child]);
  }
  return found;
}

/** KEY of VALUE when VALUE is an object: an answer is whatever the server under test sent, so nothing in it is trusted. */
const field = (value: unknown, key: string): unknown => (value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined);

const isInt64Field = (path: string): boolean => INT64_FIELDS.some((field) => field.test(path));

/** The values at int64 fields in the request's own object: a patch may move them (reordering containers) without having made them. */
function ownIntegerValues(object: unknown): Set<string> {
  return new Set(
    entries(object, "")
      .filter(([path]) => isInt64Field(path))
      .map(([, value]) => JSON.stringify(value)),
  );
}

/** Problems with a value a patch writes, as kube-apiserver would decode it (the request's own values excepted). */
function undecodable(operation: Operation, own: Set<string>): string | undefined {
  if (operation.op !== "add" && operation.op !== "replace") return undefined;
  const problems: string[] = [];
  for (const [path, value] of entries(operation.value, operation.path)) {
    if (typeof value === "number" && !Number.isFinite(value)) problems.push(`${path}: ${value}`);
    if (!isInt64Field(path) || own.has(JSON.stringify(value))) continue;
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 || BigInt(value) > INT64_MAX)
      problems.push(`${path}: ${JSON.stringify(value)} is not an int64 the API accepts`);
  }
  if (/^\/metadata\/(labels|annotations)\/[^/]+$/.test(operation.path) && typeof operation.value !== "string") problems.push(`${operation.path}: not a string`);
  return problems.length > 0 ? problems.join("; ") : undefined;
}

export interface Checked {
  readonly problems: string[];
  /** The object with the patch applied, to send again (idempotence). */
  readonly patched?: unknown;
}

/**
 * Checks one answer: never 5xx; for a real review 200, allowed, its uid, and a patch that applies
 * and decodes. The patch is applied to REVIEW.object itself (the case's own parsed copy; cloning
 * a 10,000-deep document would overflow the checker's stack).
 */
export function checkAnswer(answer: Answer, review: { uid: string; object: unknown } | undefined): Checked {
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`answered ${answer.status}: ${answer.body.slice(0, 200)}`);
  let json: unknown;
  try {
    json = JSON.parse(answer.body);
  } catch {
    problems.push(`the answer is not JSON: ${answer.body.slice(0, 200)}`);
    return { problems };
  }
  if (!review) {
    if (answer.status === 200 && field(field(json, "response"), "allowed") !== true) problems.push("a 200 that is not an allowed AdmissionReview");
    return { problems };
  }
  if (answer.status !== 200) return { problems: [...problems, `a well-formed review got ${answer.status}: ${answer.body.slice(0, 200)}`] };
  const response = field(json, "response");
  const uid = field(response, "uid");
  const patch = field(response, "patch");
  if (field(response, "allowed") !== true) problems.push(`denied: ${String(JSON.stringify(response)).slice(0, 200)}`);
  if (uid !== review.uid) problems.push(`answered uid ${JSON.stringify(uid)?.slice(0, 80)}, not the request's`);
  if (patch === undefined) return { problems };
  let operations: Operation[];
  try {
    if (typeof patch !== "string") throw new TypeError("the patch is not a string");
    operations = JSON.parse(Buffer.from(patch, "base64").toString("utf8")) as Operation[];
  } catch {
    return { problems: [...problems, "the patch is not base64 JSON"] };
  }
  const own = ownIntegerValues(review.object);
  for (const operation of operations) {
    const problem = undecodable(operation, own);
    if (problem) problems.push(`the patch writes what the API cannot decode: ${problem}`);
  }
  try {
    // As kube-apiserver applies it: a key named __proto__ is just a key there (the ban on
    // prototype paths is fast-json-patch's guard for JavaScript objects, off here on purpose).
    const patched = fastJsonPatch.applyPatch(review.object, operations as fastJsonPatch.Operation[], true, true, false).newDocument;
    return { problems, patched };
  } catch (error) {
    return { problems: [...problems, `the patch does not apply to the request's object: ${(error as Error).message.split("\n")[0]}`] };
  }
}

/** The second call, on the patched object, must change nothing. */
export function checkIdempotent(answer: Answer): string[] {
  if (answer.status !== 200) return [`the patched pod got ${answer.status}`];
  // Whatever the server sent is reported as a failure, never thrown: the run goes on and counts it.
  let json: unknown;
  try {
    json = JSON.parse(answer.body);
  } catch {
    return [`the answer for the patched pod is not JSON: ${answer.body.slice(0, 200)}`];
  }
  const patch = field(field(json, "response"), "patch");
  if (patch === undefined) return [];
  let operations: unknown;
  try {
    if (typeof patch !== "string") throw new TypeError("not a string");
    operations = JSON.parse(Buffer.from(patch, "base64").toString("utf8"));
  } catch {
    return ["the patch for the patched pod is not base64 JSON"];
  }
  if (!Array.isArray(operations)) return ["the patch for the patched pod is not a JSON Patch array"];
  return operations.length === 0 ? [] : [`applying the patch twice changes more: ${JSON.stringify(operations).slice(0, 300)}`];
}
