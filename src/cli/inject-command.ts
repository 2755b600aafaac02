import fastJsonPatch from "fast-json-patch";
import { stringify } from "yaml";
import { runPipeline } from "../mutations/pipeline.js";
import { builtInPolicy } from "../policy/load.js";
import { readPolicyFile } from "../policy/read-file.js";
import { parseManifests, readManifestText } from "../resources/manifest-reader.js";
import { findPodSites } from "../resources/pod-templates.js";
import { EXIT_OK, parseCommandLine, UsageError, write, type Command } from "./command.js";

const HELP = `Usage: mesh-tailor inject -f FILE|- [--namespace NS] [--config FILE] [-o yaml|json|patch]

Previews offline what the webhook does, like \`istioctl kube-inject\`: reads Pods, Deployments,
StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs, Lists and multi-document YAML, mutates
every pod or pod template, passes other documents through, and writes the result to stdout.
Warnings go to stderr. Input is at most 8 MiB (split larger input). Compose it with istioctl
in a pipe, on either side:
  istioctl kube-inject -f app.yaml | mesh-tailor inject -f -

Flags:
  -f, --filename FILE   input file, or - for standard input (required)
  -n, --namespace NS    namespace for objects that name none (default "default")
  --config FILE         TailorPolicy to apply (default: the built-in policy)
  -o, --output FORMAT   yaml (default), json, or patch (the JSON patch per pod, as the webhook sends)`;

const FLAGS = {
  filename: { type: "string", short: "f" },
  namespace: { type: "string", short: "n" },
  config: { type: "string" },
  output: { type: "string", short: "o" },
} as const;

type JsonObject = Record<string, unknown>;
const FORMATS = new Set(["yaml", "json", "patch"]);

function describe(document: JsonObject, index: number): string {
  const metadata = document["metadata"] as { name?: string } | undefined;
  const kind = typeof document["kind"] === "string" ? document["kind"] : "?";
  return `document ${index + 1} (${kind}${metadata?.name ? `/${metadata.name}` : ""})`;
}

export const injectCommand: Command = {
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommandLine(argv, FLAGS, HELP, io);
    if (!parsed) return EXIT_OK;
    const { values } = parsed;
    if (!values.filename) throw new UsageError("inject needs -f FILE (or -f - for standard input)");
    const format = values.output ?? "yaml";
    if (!FORMATS.has(format)) throw new UsageError(`-o must be yaml, json or patch, got "${format}"`);

    const source = values.filename === "-" ? "<stdin>" : values.filename;
    const policy = values.config ? await readPolicyFile(values.config) : builtInPolicy();
    const documents = parseManifests(await readManifestText(values.filename, io.stdin, source), source);

    const outputs: unknown[] = [];
    const patches: { document: number; kind: unknown; name: unknown; path: string; patch: unknown[] }[] = [];
    documents.forEach((document, index) => {
      if (document === null || document === undefined) return; // an empty document between separators
      if (typeof document !== "object" || Array.isArray(document)) {
        outputs.push(document);
        return;
      }
      let result = document as JsonObject;
      for (const site of findPodSites(result)) {
        const namespace = site.namespace ?? values.namespace ?? "default";
        const ran = runPipeline({ pod: site.pod, namespace, workload: site.workload }, policy);
        for (const warning of ran.warnings) write(io.stderr, `${describe(result, index)}: ${warning}`);
        if (ran.skipped) write(io.stderr, `${describe(result, index)}: not mutated: ${ran.skipped}`);
        patches.push({
          document: index + 1,
          kind: result["kind"],
          name: (result["metadata"] as JsonObject | undefined)?.["name"],
          path: site.path,
          patch: fastJsonPatch.compare(site.pod, ran.pod),
        });
        result = site.replace(result, ran.pod);
      }
      outputs.push(result);
    });

    if (format === "patch") write(io.stdout, JSON.stringify(patches, null, 2));
    else if (format === "json")
      write(io.stdout, JSON.stringify(outputs.length === 1 ? outputs[0] : { apiVersion: "v1", kind: "List", items: outputs }, null, 2));
    else io.stdout.write(outputs.map((o) => stringify(o, { lineWidth: 0 })).join("---\n"));
    return EXIT_OK;
  },
};
