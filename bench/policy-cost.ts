// `npm run bench:policy`: what a policy costs as it grows, so its limits (src/policy/limits.ts)
// come from measurement. Each case loads one generated policy in a fresh process (the way the
// webhook loads it at start) and reports the peak RSS while loading, what stays held once
// loaded, and the time of the worst lookup (a pod no entry names: every glob-named entry is
// tried). The built-in policy, measured in the same run, is the floor the ratios are against.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { builtInPolicy, compilePolicy, loadPolicy, PolicyError, type CompiledPolicy } from "../src/policy/load.js";
import { policySchema } from "../src/policy/schema.js";
import { aliasedPolicy, generatedPolicy, type GeneratedShape } from "./lib/policies.js";

type Shape = "builtin" | "aliased" | GeneratedShape;

interface Measured {
  readonly shape: Shape;
  readonly entries: number;
  readonly bytes: number;
  readonly loadMs: number;
  readonly peakRssMb: number;
  readonly heldMb: number;
  readonly lookupUs: number;
  /** Why loadPolicy refuses it (the policy was measured anyway, past the limit), or "". */
  readonly refused: string;
}

/** What loadPolicy would hold, without its limits: how cost grows past them. */
function compileUnlimited(text: string): CompiledPolicy {
  return compilePolicy(policySchema.parse(parseDocument(text).toJS({ maxAliasCount: -1 })), text);
}

const peakRssMb = (): number => Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? NaN) / 1024;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

const policyText = (shape: Shape, entries: number): string =>
  shape === "builtin" ? builtInPolicy().source : shape === "aliased" ? aliasedPolicy(entries) : generatedPolicy(shape, entries);

/** Why loadPolicy refuses SHAPE × ENTRIES, or "". Asked in the parent, so the child measures one load. */
function refusal(shape: Shape, entries: number): string {
  try {
    loadPolicy(policyText(shape, entries), "bench");
    return "";
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    return error.problems.join("; ");
  }
}

function measureHere(shape: Shape, entries: number, refused: string): Measured {
  const text = policyText(shape, entries);
  gc();
  const held = (): number => process.memoryUsage().heapUsed + process.memoryUsage().external;
  const before = held();
  const started = performance.now();
  const compiled: CompiledPolicy = shape === "builtin" ? builtInPolicy() : refused ? compileUnlimited(text) : loadPolicy(text, "bench");
  const loadMs = performance.now() - started;
  gc();
  const heldMb = (held() - before) / 1024 / 1024;
  const lookups = 2_000;
  const timed = performance.now();
  const long = "a".repeat(62);
  for (let i = 0; i < lookups; i++) {
    if (shape === "shared-name") compiled.services.lookup(`${long}${i % 7}`, "web");
    else compiled.services.lookup("payments-prod", shape === "adversarial" ? `${long}${i % 7}` : `checkout${i % 7}`);
  }
  const lookupUs = ((performance.now() - timed) / lookups) * 1000;
  const result = { shape, entries: compiled.policy.services.length, bytes: Buffer.byteLength(text), loadMs, peakRssMb: peakRssMb(), heldMb, lookupUs, refused };
  return result;
}

function measureInChild(shape: Shape, entries: number): Measured {
  const self = fileURLToPath(import.meta.url);
  const refused = refusal(shape, entries);
  const out = execFileSync(process.execPath, ["--expose-gc", self, "--child", shape, String(entries), refused], { encoding: "utf8", maxBuffer: 1 << 20 });
  return JSON.parse(out) as Measured;
}

const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

function main(): void {
  const cases: [Shape, number][] = [
    ["builtin", 0],
    ["literal", 1_000],
    ["literal", 10_000],
    ["literal", 19_000],
    ["flow", 20_000],
    ["flow", 60_000],
    ["rich", 4_000],
    ["annotations", 24_000],
    ["aliased", 35],
    ["aliased", 60],
    ["aliased", 100],
    ["glob", 100],
    ["glob", 300],
    ["glob", 1_000],
    ["glob", 15_000],
    ["adversarial", 110],
    ["adversarial", 1_000],
    ["shared-name", 110],
    ["shared-name", 10_000],
  ];
  const rows = cases.map(([shape, entries]) => measureInChild(shape, entries));
  const floor = rows[0]!;
  process.stdout.write(
    "| shape | entries | bytes | load ms | peak RSS MB (x floor) | held MB (heap) | worst lookup µs (x floor) | accepted |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n",
  );
  for (const row of rows) {
    process.stdout.write(
      `| ${row.shape} | ${row.entries} | ${row.bytes} | ${round(row.loadMs, 0)} | ${round(row.peakRssMb)} (${round(row.peakRssMb / floor.peakRssMb, 2)}) | ` +
        `${round(row.heldMb)} | ${round(row.lookupUs, 2)} (${round(row.lookupUs / floor.lookupUs, 0)}) | ${row.refused ? `no: ${row.refused.replace(/ \(.*$/, "")}` : "yes"} |\n`,
    );
  }
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}

const childAt = process.argv.indexOf("--child");
if (childAt !== -1)
  process.stdout.write(JSON.stringify(measureHere(process.argv[childAt + 1] as Shape, Number(process.argv[childAt + 2]), process.argv[childAt + 3] ?? "")));
else main();
