import { readFile } from "node:fs/promises";
import { DEFAULT_POLICY_YAML } from "../policy/default-policy.js";
import { loadPolicy, PolicyError } from "../policy/load.js";
import { EXIT_FAILED, EXIT_OK, parseCommandLine, UsageError, write, type Command } from "./command.js";

const HELP = `Usage:
  mesh-tailor policy validate FILE   check a TailorPolicy; exit 0 if valid, 1 with every problem if not
  mesh-tailor policy default         print the built-in policy, with every field and its default

A policy is YAML (or JSON) with apiVersion: mesh-tailor.io/v1alpha1 and kind: TailorPolicy.`;

export const policyCommand: Command = {
  name: "policy",
  summary: "validate a policy file, or print the built-in policy",
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommandLine(argv, {}, HELP, io, true);
    if (!parsed) return EXIT_OK;
    const [action, ...rest] = parsed.positionals;
    if (action === "default") {
      if (rest.length > 0) throw new UsageError("policy default takes no arguments");
      io.stdout.write(DEFAULT_POLICY_YAML);
      return EXIT_OK;
    }
    if (action === "validate") {
      if (rest.length !== 1) throw new UsageError("policy validate takes exactly one FILE");
      const file = rest[0]!;
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (error) {
        write(io.stderr, `mesh-tailor: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        return EXIT_FAILED;
      }
      try {
        const compiled = loadPolicy(text, file);
        write(io.stdout, `${file}: valid (${compiled.policy.services.length} service entries, mesh ${compiled.policy.mesh.enabled ? "enabled" : "rolled back"}, revision ${compiled.revision})`);
        return EXIT_OK;
      } catch (error) {
        if (!(error instanceof PolicyError)) throw error;
        write(io.stderr, error.message);
        return EXIT_FAILED;
      }
    }
    throw new UsageError(action === undefined ? "policy needs an action: validate FILE or default" : `unknown policy action "${action}"; use validate FILE or default`);
  },
};
