import type { CheckResult } from "../ops/doctor/check.js";
import { checksHelp, doctor } from "../ops/doctor/doctor.js";
import { withCluster } from "./cluster-session.js";
import { EXIT_FAILED, EXIT_OK, parseCommandLine, UsageError, write, type Command } from "./command.js";
import { formatTable } from "./table.js";

const HELP = `Usage: mesh-tailor doctor [--context CTX] [--config FILE] [-o table|json]

Reads the live cluster and says what is wrong with the installation, each check ok, warning or
error, with the fix:
${checksHelp()}
A check whose facts cannot be read (forbidden to this user, an invalid installed policy) is an
error of its own; the others still run. Exit code 1 when a check is an error (warnings alone
exit 0).

Flags:
  --context CTX      kubeconfig context (default: the current one)
  --config FILE      the policy to check against (default: the installed mesh-tailor/mesh-tailor-policy
                     ConfigMap, else the built-in one)
  -o, --output FMT   table (default) or json`;

const FLAGS = {
  context: { type: "string" },
  config: { type: "string" },
  output: { type: "string", short: "o" },
} as const;

const MARK = { ok: "ok", warning: "WARNING", error: "ERROR" } as const;

function render(results: readonly CheckResult[]): string {
  const table = formatTable(
    ["CHECK", "STATUS", "DETAIL"],
    results.map((r) => [r.check, MARK[r.status], r.detail]),
  );
  const fixes = results.filter((r) => r.fix).map((r) => `  ${r.check}: ${r.fix}`);
  const errors = results.filter((r) => r.status === "error").length;
  const warnings = results.filter((r) => r.status === "warning").length;
  return [table, ...(fixes.length ? ["", "To fix:", ...fixes] : []), "", `doctor: ${errors} error(s), ${warnings} warning(s)`].join("\n");
}

export const doctorCommand: Command = {
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommandLine(argv, FLAGS, HELP, io);
    if (!parsed) return EXIT_OK;
    const { values } = parsed;
    const format = values.output ?? "table";
    if (format !== "table" && format !== "json") throw new UsageError(`-o must be table or json, got "${format}"`);
    return withCluster(values.context, Promise.resolve(), async (api) => {
      const results = await doctor(api, values.config);
      const errors = results.filter((r) => r.status === "error").length;
      if (format === "json")
        write(io.stdout, JSON.stringify({ checks: results, errors, warnings: results.filter((r) => r.status === "warning").length }, null, 2));
      else write(io.stdout, render(results));
      return errors > 0 ? EXIT_FAILED : EXIT_OK;
    });
  },
};
