import type { CheckResult } from "../cluster/doctor-checks.js";
import { EXIT_FAILED, EXIT_OK, parseCommandLine, UsageError, write, type Command } from "./command.js";
import { withClusterPolicy } from "./cluster-session.js";
import { formatTable } from "./table.js";

const HELP = `Usage: mesh-tailor doctor [--context CTX] [--config FILE] [-o table|json]

Reads the live cluster and says what is wrong with the installation, each check ok, warning or
error, with the fix:
  webhook-order          00-mesh-tailor sorts before every Istio injector configuration (revision
                         tags too) and is reinvoked after them
  ca-bundle              every webhook's caBundle verifies the certificate in the TLS Secret
  serving-certificate    that certificate names the Service, and days until it expires
  mesh-ca                days until istio-system/cacerts (intermediate and root) expires
  webhook, controller    their Deployments are available
  kubernetes-version     the API server has what the policy asks for (the sleep lifecycle action,
                         native sidecars)
  istio                  the istiod revisions (and versions) and revision tags installed
  untailored-namespaces  namespaces Istio injects but mesh-tailor does not tailor
Exit code 1 when a check is an error (warnings alone exit 0).

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

function render(results: readonly CheckResult[], policyOrigin: string): string {
  const table = formatTable(["CHECK", "STATUS", "DETAIL"], results.map((r) => [r.check, MARK[r.status], r.detail]));
  const fixes = results.filter((r) => r.fix).map((r) => `  ${r.check}: ${r.fix}`);
  const errors = results.filter((r) => r.status === "error").length;
  const warnings = results.filter((r) => r.status === "warning").length;
  return [table, ...(fixes.length ? ["", "To fix:", ...fixes] : []), "", `doctor: ${errors} error(s), ${warnings} warning(s); policy: ${policyOrigin}`].join("\n");
}

export const doctorCommand: Command = {
  name: "doctor",
  summary: "check the installation in the live cluster, with fixes",
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommandLine(argv, FLAGS, HELP, io);
    if (!parsed) return EXIT_OK;
    const { values } = parsed;
    const format = values.output ?? "table";
    if (format !== "table" && format !== "json") throw new UsageError(`-o must be table or json, got "${format}"`);
    return withClusterPolicy(values.context, values.config, import("../cluster/doctor.js"), async (api, { policy, origin }, { doctor }) => {
      const results = await doctor(api, policy);
      const errors = results.filter((r) => r.status === "error").length;
      if (format === "json") write(io.stdout, JSON.stringify({ checks: results, errors, warnings: results.filter((r) => r.status === "warning").length, policy: origin }, null, 2));
      else write(io.stdout, render(results, origin));
      return errors > 0 ? EXIT_FAILED : EXIT_OK;
    });
  },
};
