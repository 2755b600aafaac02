import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { HostPassthroughOptions } from "./options.js";

export type LuaScript = "outbound" | "inbound" | "gateway";

// The .lua files ship beside dist/ (repo root lua/), so they can be read, linted and run as is.
const LUA_DIR = new URL("../../../lua/", import.meta.url);
const BEGIN = "-- mesh-tailor:config:begin";
const END = "-- mesh-tailor:config:end";

export const luaPath = (script: LuaScript): string => fileURLToPath(new URL(`host-passthrough-${script}.lua`, LUA_DIR));

// Values reach Lua as double-quoted literals; the options are validated to plain characters,
// and this refuses anything that would need escaping rather than trusting that.
function luaString(value: string): string {
  if (!/^[\w.:/-]*$/.test(value)) throw new Error(`refusing to put ${JSON.stringify(value)} into Lua source`);
  return `"${value}"`;
}

const luaList = (values: readonly string[]): string => `{ ${values.map(luaString).join(", ")} }`;

function configBlock(script: LuaScript, options: HostPassthroughOptions): string[] {
  const header = `local HEADER = ${luaString(options.header)}`;
  if (script === "outbound") return [header, `local SERVICE_CIDRS = ${luaList(options.serviceCidrs)}`];
  if (script === "inbound") return [header, `local TRUST_DOMAINS = ${luaList(options.trustDomains)}`, "local MAX_HOST_LENGTH = 255"];
  return [header];
}

/** The script's source with its config block set from the options. */
export function renderLua(script: LuaScript, options: HostPassthroughOptions, source = readFileSync(luaPath(script), "utf8")): string {
  const begin = source.indexOf(BEGIN);
  const end = source.indexOf(END);
  if (begin === -1 || end < begin) throw new Error(`${luaPath(script)} has no "${BEGIN}" ... "${END}" block`);
  return `${source.slice(0, begin + BEGIN.length)}\n${configBlock(script, options).join("\n")}\n${source.slice(end)}`;
}
