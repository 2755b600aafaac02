// Loaded with `node --import` into a CLI run by the simulation: at exit, writes the process's
// peak resident memory (bytes) to the file MESH_TAILOR_SIM_PEAK_RSS names. The CLI is unchanged.
import { writeFileSync } from "node:fs";

const file = process.env["MESH_TAILOR_SIM_PEAK_RSS"];
// resourceUsage().maxRSS is in kilobytes.
if (file) process.on("exit", () => writeFileSync(file, String(process.resourceUsage().maxRSS * 1024)));
