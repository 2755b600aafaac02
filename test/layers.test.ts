// The layers of src/, from the bottom up (docs/architecture.md draws them): a module imports only
// from its own folder or from a folder in a lower layer, never up, never sideways.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

export const LAYERS: readonly (readonly string[])[] = [
  ["keys", "util"],
  ["tls", "logging", "certs", "kube"],
  ["pod"],
  ["policy", "resources", "host-passthrough"],
  ["mutations"],
  ["admission", "namespaces"],
  ["ops"],
  ["runtime"],
  ["server", "controller"],
  ["cli"],
];

const layerOf = new Map(LAYERS.flatMap((folders, level) => folders.map((folder) => [folder, level] as const)));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

/** The relative imports of FILE (static and dynamic, type-only included), as repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => relative(REPO, resolve(dirname(file), m[1]!)));
}

const folderOf = (path: string): string => path.split(sep)[1]!;

describe("the layers of src/", () => {
  const files = sources(join(REPO, "src")).filter((f) => !f.endsWith(".test.ts"));

  it("place every folder in one layer", () => {
    const folders = new Set(files.map((f) => folderOf(relative(REPO, f))));
    for (const folder of folders) assert.ok(layerOf.has(folder), `src/${folder} is in no layer of LAYERS`);
  });

  it("import only downward: from the same folder or a lower layer", () => {
    const upward: string[] = [];
    for (const file of files) {
      const from = folderOf(relative(REPO, file));
      for (const target of importsOf(file)) {
        if (!target.startsWith(`src${sep}`)) continue;
        const to = folderOf(target);
        if (to !== from && layerOf.get(to)! >= layerOf.get(from)!) upward.push(`${relative(REPO, file)} imports ${target}`);
      }
    }
    assert.deepEqual(upward, []);
  });

  it("are checked: an import up a layer is caught", () => {
    assert.ok(layerOf.get("kube")! < layerOf.get("ops")!);
    assert.ok(layerOf.get("namespaces") === layerOf.get("admission"), "side by side: neither may import the other");
  });
});

describe("npm test", () => {
  it("runs no test that needs built infrastructure (those have their own scripts)", () => {
    const script = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts["test"]!;
    const excluded = [...script.matchAll(/! -path '([^']+)'/g)].map((m) => m[1]!.replace(/^dist\//, "").replace(/\/\*$/, ""));
    const unit = [...sources(join(REPO, "src")), ...sources(join(REPO, "test"))].filter(
      (f) => f.endsWith(".test.ts") && !excluded.some((dir) => relative(REPO, f).startsWith(dir + sep)),
    );
    const needing = unit.filter((file) =>
      importsOf(file).some((target) => target.startsWith(join("test", "e2e")) || target.startsWith(join("test", "faults", "harness"))),
    );
    assert.deepEqual(
      needing.map((f) => relative(REPO, f)),
      [],
    );
    for (const suite of ["test/e2e", "test/faults", "test/chart", "test/image"]) assert.ok(excluded.includes(suite), `${suite} runs under its own script`);
  });
});
