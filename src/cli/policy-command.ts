import { DEFAULT_POLICY_YAML } from "../policy/default-policy.js";
import { readPolicyFile } from "../policy/read-file.js";
import { withCluster } from "./cluster-session.js";
import { EXIT_FAILED, EXIT_OK, parseCommandLine, UsageError, write, type Command } from "./command.js";

const HELP = `Usage:
  mesh-tailor policy validate FILE [--cluster [--context CTX]]
                                     check a TailorPolicy; exit 0 if valid, 1 with every problem if not
  mesh-tailor policy default         print the built-in policy, with every field and its default

A policy is YAML (or JSON) with apiVersion: mesh-tailor.io/v1alpha1 and kind: TailorPolicy.

--cluster also holds it against the live cluster, every namespace judged with the webhook's own
pipeline (one paged LIST per kind): a service whose revision has no Istio injector is an error;
a namespace label that overrides a service's revision, and an entry that decides for no
workload (a typo such as "detials", a glob such as "shp*"), are warnings.`;

const FLAGS = { cluster: { type: "boolean" }, context: { type: "string" } } as const;

export const policyCommand: Command = {
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommandLine(argv, FLAGS, HELP, io, true);
    if (!parsed) return EXIT_OK;
    const { values } = parsed;
    const [action, ...rest] = parsed.positionals;
    if (action === "default") {
      if (rest.length > 0 || values.cluster || values.context) throw new UsageError("policy default takes no arguments");
      io.stdout.write(DEFAULT_POLICY_YAML);
      return EXIT_OK;
    }
    if (action === "validate") {
      if (rest.length !== 1) throw new UsageError("policy validate takes exactly one FILE");
      if (values.context && !values.cluster) throw new UsageError("--context goes with --cluster");
      const file = rest[0]!;
      const compiled = await readPolicyFile(file);
      write(
        io.stdout,
        `${file}: valid (${compiled.policy.services.length} service entries, mesh ${compiled.policy.mesh.enabled ? "enabled" : "rolled back"}, revision ${compiled.revision})`,
      );
      if (!values.cluster) return EXIT_OK;
      const findings = await withCluster(values.context, import("../ops/policy-check.js"), (api, { checkPolicyAgainstCluster }) =>
        checkPolicyAgainstCluster(api, compiled),
      );
      for (const finding of findings) write(io.stdout, `${finding.level}: ${finding.text}`);
      const errors = findings.filter((f) => f.level === "error").length;
      write(io.stdout, `against the cluster: ${errors} error(s), ${findings.length - errors} warning(s)`);
      return errors > 0 ? EXIT_FAILED : EXIT_OK;
    }
    throw new UsageError(
      action === undefined ? "policy needs an action: validate FILE or default" : `unknown policy action "${action}"; use validate FILE or default`,
    );
  },
};
