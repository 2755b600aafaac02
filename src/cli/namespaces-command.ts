import { withCluster } from "./cluster-session.js";
import { EXIT_FAILED, EXIT_OK, parseCommandLine, UsageError, write, type CliIO, type Command } from "./command.js";
import { formatTable } from "./table.js";

const HELP = `Usage: mesh-tailor namespaces enable (NAMESPACE... | -l SELECTOR) [flags]
       mesh-tailor namespaces disable (NAMESPACE... | -l SELECTOR) [flags]
       mesh-tailor namespaces list [-l SELECTOR] [flags]

enable   labels namespaces mesh-tailor.io/enabled=true, so the webhook tailors their pods (and
         the controller gives each a default Sidecar). Refuses kube-system and mesh-tailor's own
         namespace; warns where Istio's namespace labels change what a service's revision does.
disable  removes the label and the managed default Sidecar (never a Sidecar of your own).
list     one row per namespace: enabled, Istio's labels, the default Sidecar, pods, pods the
         policy selects, pods with a proxy, pods stale (admitted under another policy, or with a
         proxy where the policy now says otherwise). Exits 1 when it finds a conflict.

Pods created before a change keep what they were admitted with: restart them to apply it.

Flags:
  -l, --selector SEL   namespaces by label selector instead of by name
  --context CTX        kubeconfig context (default: the current one)
  --dry-run            show what would change; the API server checks it, nothing is stored
  --config FILE        the policy to judge by (default: the installed mesh-tailor/mesh-tailor-policy
                       ConfigMap, else the built-in one)
  -o, --output FMT     table (default) or json`;

const FLAGS = {
  selector: { type: "string", short: "l" },
  context: { type: "string" },
  "dry-run": { type: "boolean" },
  config: { type: "string" },
  output: { type: "string", short: "o" },
} as const;

const VERBS = ["enable", "disable", "list"] as const;

function outputFormat(value: string | undefined): "table" | "json" {
  if (value === undefined || value === "table") return "table";
  if (value === "json") return "json";
  throw new UsageError(`-o must be table or json, got "${value}"`);
}

async function run(argv: readonly string[], io: CliIO): Promise<number> {
  const parsed = parseCommandLine(argv, FLAGS, HELP, io, true);
  if (!parsed) return EXIT_OK;
  const [verb, ...names] = parsed.positionals;
  if (!VERBS.includes(verb as (typeof VERBS)[number]))
    throw new UsageError(verb ? `unknown action "${verb}": use enable, disable or list` : "say what to do: enable, disable or list");
  const { values } = parsed;
  const format = outputFormat(values.output);
  const selector = values.selector;
  if (verb === "list" && names.length > 0) throw new UsageError("list takes no namespace names; use -l SELECTOR to narrow it");
  if (verb !== "list" && names.length === 0 && !selector) throw new UsageError(`${verb} needs namespace names or -l SELECTOR`);
  if (names.length > 0 && selector) throw new UsageError("give namespace names or -l SELECTOR, not both");
  if (values["dry-run"] && verb === "list") throw new UsageError("--dry-run applies to enable and disable");

  const modules = Promise.all([import("../ops/installed-policy.js"), import("../ops/namespaces.js")]);
  return withCluster(values.context, modules, async (api, [{ resolvePolicy }, ops]) => {
    const targets = { names, selector };
    const dryRun = values["dry-run"] === true;
    if (verb === "list") {
      const { policy, origin } = await resolvePolicy(api, values.config);
      const rows = await ops.listNamespaces(api, policy, selector);
      if (format === "json") write(io.stdout, JSON.stringify({ policy: { origin, revision: policy.revision }, namespaces: rows }, null, 2));
      else {
        write(
          io.stdout,
          formatTable(
            ["NAMESPACE", "ENABLED", "ISTIO LABELS", "DEFAULT SIDECAR", "PODS", "SELECTED", "WITH PROXY", "STALE"],
            rows.map((r) => [
              r.namespace,
              r.enabled ? "yes" : "no",
              r.istioLabels.join(",") || "-",
              r.defaultSidecar,
              String(r.pods),
              String(r.selected),
              String(r.withProxy),
              String(r.stale),
            ]),
          ),
        );
        write(io.stderr, `policy: ${origin}, revision ${policy.revision}`);
      }
      const conflicts = rows.flatMap((r) => r.conflicts.map((c) => `${r.namespace}: ${c}`));
      for (const conflict of conflicts) write(io.stderr, `conflict: ${conflict}`);
      return conflicts.length > 0 ? EXIT_FAILED : EXIT_OK;
    }
    const changes =
      verb === "enable"
        ? await ops.enableNamespaces(api, targets, dryRun)
        : await ops.disableNamespaces(api, targets, (await resolvePolicy(api, values.config)).policy, dryRun);
    if (format === "json") write(io.stdout, JSON.stringify(changes, null, 2));
    else
      write(
        io.stdout,
        formatTable(
          ["NAMESPACE", "RESULT", "NOTES"],
          changes.map((c) => [c.namespace, c.result, c.notes.join("; ")]),
        ),
      );
    if (changes.length === 0) write(io.stderr, `no namespace matches ${selector}`);
    return changes.some((c) => c.result === "refused" || c.result === "not found") ? EXIT_FAILED : EXIT_OK;
  });
}

export const namespacesCommand: Command = {
  help: HELP,
  run,
};
