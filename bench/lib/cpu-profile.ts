import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface ProfileShare {
  readonly name: string;
  readonly selfPercent: number;
}

export interface ProfileSummary {
  readonly file: string;
  /** Self time by area: a dependency, a file of ours, Node's internals, idle, GC. */
  readonly byArea: ProfileShare[];
  /** Self time by function, the heaviest first. */
  readonly byFunction: ProfileShare[];
}

function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1]!;
  if (url.startsWith("node:")) return "node internals";
  const ours = /\/dist\/(src\/.*)$/.exec(url);
  return ours ? ours[1]! : url;
}

const top = (totals: Map<string, number>, all: number, count: number): ProfileShare[] =>
  [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, hits]) => ({ name, selfPercent: Math.round((hits / all) * 1000) / 10 }));

/** Reads the one .cpuprofile in DIR (written by node --cpu-prof) and sums self time. */
export function summarizeCpuProfile(dir: string): ProfileSummary {
  const file = readdirSync(dir).find((name) => name.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nodes: ProfileNode[] };
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let all = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    all += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(url, functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + hits);
    const name = `${functionName || "(anonymous)"} ${url ? `${area}:${lineNumber + 1}` : ""}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
  }
  return { file: join(dir, file), byArea: top(byArea, all, 12), byFunction: top(byFunction, all, 15) };
}
