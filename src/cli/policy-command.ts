import { DEFAULT_POLICY_YAML } from "../policy/default-policy.js";
import { readPolicyFile } from "../policy/read-file.js";
import { EXIT_OK, parseCommandLine, UsageError, write, type Command } from "./command.js";

const HELP = `Usage:
  mesh-tailor policy validate FILE   check a TailorPolicy; exit 0 if valid, 1 with every problem if not
  mesh-tailor policy default         print the built-in policy, with every field and its default

A policy is YAML (or JSON) with apiVersion: mesh-tailor.io/v1alpha1 and kind: TailorPolicy.`;

export const policyCommand: Command = {
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
      const compiled = await readPolicyFile(file);
      write(
        io.stdout,
        `${file}: valid (${compiled.policy.services.length} service entries, mesh ${compiled.policy.mesh.enabled ? "enabled" : "rolled back"}, revision ${compiled.revision})`,
      );
      return EXIT_OK;
    }
    throw new UsageError(
      action === undefined ? "policy needs an action: validate FILE or default" : `unknown policy action "${action}"; use validate FILE or default`,
    );
  },
};
