import assert from "node:assert/strict";

/**
 * Asserts that ACTUAL holds everything EXPECTED holds: equal scalars, arrays of the same length
 * element by element, and every key of an expected object. Keys only ACTUAL has are allowed:
 * kube-apiserver adds defaults (imagePullPolicy, terminationMessagePath, ...) to a stored pod.
 */
export function assertContains(actual: unknown, expected: unknown, path = "$"): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array, got ${JSON.stringify(actual)}`);
    assert.equal(actual.length, expected.length, `${path}: ${actual.length} items stored, ${expected.length} predicted: ${JSON.stringify(actual)}`);
    expected.forEach((item, index) => assertContains(actual[index], item, `${path}[${index}]`));
    return;
  }
  if (expected !== null && typeof expected === "object") {
    assert.ok(actual !== null && typeof actual === "object" && !Array.isArray(actual), `${path}: expected an object, got ${JSON.stringify(actual)}`);
    for (const [key, value] of Object.entries(expected)) assertContains((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    return;
  }
  assert.equal(actual, expected, `${path}`);
}
