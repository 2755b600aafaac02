import { verifyDirectory, type Finding } from "../../certs/verify.js";
import { EXIT_FAILED, EXIT_OK, parseCommandLine, UsageError, write, type CliIO } from "../command.js";

export const VERIFY_HELP = `Usage: mesh-tailor certs verify --dir DIR

Checks a certs bootstrap directory (root, every cluster's chain, extensions, key pairs,
cert-chain.pem, cacerts.yaml) and/or a certs webhook directory. Prints a table; exits 1 on any
problem, and warns (exit 0) when something expires within 30 days.`;

function table(findings: readonly Finding[]): string {
  const rows = [["STATUS", "TARGET", "CHECK", "DETAIL"], ...findings.map((f) => [f.status.toUpperCase(), f.target, f.check, f.detail])];
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function verify(argv: readonly string[], io: CliIO): number {
  const parsed = parseCommandLine(argv, { dir: { type: "string" } }, VERIFY_HELP, io);
  if (!parsed) return EXIT_OK;
  const { values } = parsed;
  if (!values.dir) throw new UsageError("--dir DIR is required");
  const findings = verifyDirectory(values.dir);
  write(io.stdout, table(findings));
  const failed = findings.filter((f) => f.status === "fail").length;
  const warned = findings.filter((f) => f.status === "warn").length;
  write(io.stdout, `${findings.length - failed - warned} ok, ${warned} warning(s), ${failed} problem(s)`);
  return failed > 0 ? EXIT_FAILED : EXIT_OK;
}
