// Messages and log lines quote values that came from a request. A quoted value must never cost
// more than a few hundred bytes, nor recurse into a structure an attacker chose the depth of.

export const QUOTE_LIMIT = 64;

/** A short, safe rendering of any value: a string is quoted and cut, anything else named by its type. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (typeof value === "string") return JSON.stringify(truncate(value, QUOTE_LIMIT));
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${typeof value === "object" ? "JSON object" : typeof value}`;
}

/** At most LIMIT characters of TEXT, saying how much was cut. */
export function truncate(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}…(${text.length - limit} more characters)`;
}
