import { join } from "node:path";
import { cacertsData, CLUSTER_FILES, clusterFiles, ROOT_CERT, ROOT_KEY, rootFiles } from "../../certs/istio-layout.js";
import { issueIntermediate, issueRoot } from "../../certs/mesh-ca.js";
import { EXIT_OK, parseCommandLine, positiveInteger, UsageError, write, type CliIO } from "../command.js";
import { APPLY_FLAGS, applyToCluster } from "./apply-flags.js";
import { dnsLabel, keySize, listWritten, requiredDir, writeCertificateSet } from "./shared.js";

export const BOOTSTRAP_HELP = `Usage: mesh-tailor certs bootstrap --out DIR --clusters c1[,c2...] [--org NAME]
         [--root-days N] [--intermediate-days N] [--key-size 2048|3072|4096] [--force]
         [--apply [--context CTX]]

Creates the mesh's root CA and one intermediate CA per cluster, in Istio's plug-in CA layout:
  DIR/root-cert.pem, DIR/root-key.pem
  DIR/<cluster>/ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem, cacerts.yaml
Defaults: --org mesh-tailor, --root-days 3650, --intermediate-days 730, --key-size 4096.
Refuses to replace an existing key or certificate unless --force. --apply creates the
cacerts Secret in istio-system of the --context cluster (one cluster at a time).`;

const FLAGS = {
  out: { type: "string" },
  clusters: { type: "string" },
  org: { type: "string" },
  "root-days": { type: "string" },
  "intermediate-days": { type: "string" },
  "key-size": { type: "string" },
  force: { type: "boolean" },
  ...APPLY_FLAGS,
} as const;

export async function bootstrap(argv: readonly string[], io: CliIO): Promise<number> {
  const parsed = parseCommandLine(argv, FLAGS, BOOTSTRAP_HELP, io);
  if (!parsed) return EXIT_OK;
  const { values } = parsed;
  const dir = requiredDir(values.out);
  if (!values.clusters) throw new UsageError("--clusters c1[,c2...] is required");
  const clusters = values.clusters.split(",").map((name) => dnsLabel("cluster name", name.trim()));
  const duplicate = clusters.find((name, i) => clusters.indexOf(name) !== i);
  if (duplicate) throw new UsageError(`cluster "${duplicate}" is listed twice`);
  const rootDays = positiveInteger("--root-days", values["root-days"], 3650);
  const intermediateDays = positiveInteger("--intermediate-days", values["intermediate-days"], 730);
  if (intermediateDays > rootDays)
    throw new UsageError(`--intermediate-days (${intermediateDays}) must not exceed --root-days (${rootDays}): an intermediate may not outlive its root`);
  const bits = keySize(values["key-size"], 4096);
  const organization = values.org ?? "mesh-tailor";
  if (values.context && !values.apply) throw new UsageError("--context goes with --apply");
  if (values.apply && clusters.length !== 1)
    throw new UsageError(
      "--apply installs one cluster's cacerts into the --context cluster: bootstrap with one cluster, then add-cluster --apply for each other",
    );

  const why =
    "bootstrap would replace the mesh root: add clusters under the existing root with `mesh-tailor certs add-cluster`, or pass --force to start over.";
  const planned = [
    join(dir, ROOT_CERT),
    join(dir, ROOT_KEY),
    ...clusters.flatMap((cluster) => [...CLUSTER_FILES, "cacerts.yaml"].map((name) => join(dir, cluster, name))),
  ];
  const now = new Date();
  // --force starts the mesh over: clusters of the old root would no longer chain to the new one.
  const { root, intermediates, files } = await writeCertificateSet(
    dir,
    planned,
    { force: values.force === true, fresh: values.force === true },
    why,
    async () => {
      const root = await issueRoot({ organization, days: rootDays, keyBits: bits, now });
      // Clusters' keys are generated concurrently: native RSA generation runs on the thread pool.
      const intermediates = await Promise.all(
        clusters.map((cluster) => issueIntermediate({ root, cluster, organization, days: intermediateDays, keyBits: bits, now })),
      );
      return {
        root,
        intermediates,
        files: [...rootFiles(dir, root), ...clusters.flatMap((cluster, i) => clusterFiles(dir, cluster, root, intermediates[i]!))],
      };
    },
  );
  write(io.stderr, `wrote the root CA and ${clusters.length} cluster intermediate(s):`);
  listWritten(io.stderr, files);
  if (values.apply) {
    const message = await applyToCluster(values.context, (api, apply) =>
      apply.applyCacerts(api, cacertsData(root, intermediates[0]!), { force: values.force === true }),
    );
    write(io.stderr, message);
  } else {
    write(io.stderr, `install with: kubectl apply -f ${join(dir, clusters[0]!, "cacerts.yaml")}   (before installing Istio, or restart istiod)`);
  }
  return EXIT_OK;
}
