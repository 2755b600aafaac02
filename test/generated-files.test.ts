import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { DEFAULT_POLICY_YAML, policyTableMarkdown, schemaDefaults } from "../src/policy/default-policy.js";
import { docFor } from "../src/policy/fields.js";
import { builtInPolicy, loadPolicy } from "../src/policy/load.js";
import { policySchema } from "../src/policy/schema.js";
import { copiesOfChartFiles, DOCTOR_BEGIN, DOCTOR_END, TABLE_BEGIN, TABLE_END, withDoctorTable, withPolicyTable, withRbacTables } from "../scripts/generate.js";
import { RBAC_TABLES, rbacBegin, rbacEnd } from "../scripts/rbac-tables.js";
import { REPO } from "../scripts/repo.js";

const STALE = "stale: run `npm run generate` and commit the result";

/** Every field path the schema has, `services[]` for list entries (zod's own definitions walked). */
function schemaPaths(): string[] {
  type Def = { def: { type: string; innerType?: Def; shape?: Record<string, Def>; element?: Def } } & { shape?: Record<string, Def> };
  const unwrap = (schema: Def): Def => (["default", "prefault", "optional"].includes(schema.def.type) ? unwrap(schema.def.innerType!) : schema);
  const paths: string[] = [];
  const walk = (schema: Def, prefix: string): void => {
    const inner = unwrap(schema);
    if (inner.def.type === "object") for (const [key, child] of Object.entries(inner.shape!)) walk(child, prefix ? `${prefix}.${key}` : key);
    else if (inner.def.type === "array" && unwrap(inner.def.element!).def.type === "object") {
      paths.push(prefix);
      walk(inner.def.element!, `${prefix}[]`);
    } else paths.push(prefix);
  };
  walk(policySchema, "");
  return paths.filter((path) => path !== "apiVersion" && path !== "kind");
}

describe("one source of defaults: the schema", () => {
  it("gives the built-in policy exactly what a two-line policy gets", () => {
    const twoLines = loadPolicy("apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n").policy;
    assert.deepEqual(builtInPolicy().policy, twoLines);
    assert.deepEqual(builtInPolicy().policy, schemaDefaults());
    assert.equal(builtInPolicy().policy.defaults.proxyResources, undefined, "Istio's mesh-wide proxy resources apply unless the policy sets some");
  });

  it("documents every field the schema has", () => {
    const undocumented = schemaPaths().filter((path) => !docFor(path));
    assert.deepEqual(undocumented, [], "add a row to src/policy/fields.ts");
  });

  it("keeps the kustomize and chart copies of the chart's files current (policy, alerts, dashboard)", () => {
    for (const [path, content] of copiesOfChartFiles()) assert.equal(readFileSync(path, "utf8"), content, `${path.slice(REPO.length)}: ${STALE}`);
  });

  it("keeps manifests/policy.yaml equal to the built-in policy", () => {
    assert.equal(readFileSync(`${REPO}manifests/policy.yaml`, "utf8"), DEFAULT_POLICY_YAML, STALE);
  });

  it("keeps the README's policy table equal to the schema and the field docs", () => {
    const readme = readFileSync(`${REPO}README.md`, "utf8");
    assert.ok(readme.includes(TABLE_BEGIN) && readme.includes(TABLE_END));
    assert.equal(withPolicyTable(readme, policyTableMarkdown()), readme, STALE);
  });

  it("keeps the README's doctor table equal to the checks' declarations", () => {
    const readme = readFileSync(`${REPO}README.md`, "utf8");
    assert.ok(readme.includes(DOCTOR_BEGIN) && readme.includes(DOCTOR_END));
    assert.equal(withDoctorTable(readme), readme, STALE);
  });

  it("keeps the README's RBAC tables equal to the rules of manifests/ and their comments", () => {
    const readme = readFileSync(`${REPO}README.md`, "utf8");
    for (const { account, files } of RBAC_TABLES) assert.ok(readme.includes(rbacBegin(account, files)) && readme.includes(rbacEnd(account)), account);
    assert.equal(withRbacTables(readme), readme, STALE);
  });
});
