import { X509Certificate, createPrivateKey } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import forge from "node-forge";
import { cacertsData, CLUSTER_FILES, clusterFiles, ROOT_CERT, ROOT_KEY } from "../../certs/istio-layout.js";
import { DAY_MS, issueIntermediate } from "../../certs/mesh-ca.js";
import { EXIT_OK, parseCommandLine, positiveInteger, UsageError, WorkError, write, type CliIO } from "../command.js";
import { APPLY_FLAGS, applyToCluster } from "./apply-flags.js";
import { dnsLabel, keySize, listWritten, requiredDir, writeCertificateSet } from "./shared.js";

export const ADD_CLUSTER_HELP = `Usage: mesh-tailor certs add-cluster --out DIR --cluster NAME [--intermediate-days N]
         [--key-size 2048|3072|4096] [--org NAME] [--force] [--apply [--context CTX]]

Issues a new cluster's intermediate CA from the existing root in DIR (made by certs bootstrap),
so the new cluster joins the same mesh with no root rotation. Refuses if the root is missing,
if the cluster already exists (unless --force), or if the intermediate would outlive the root.
--org defaults to the root's organization.`;

const FLAGS = {
  out: { type: "string" },
  cluster: { type: "string" },
  org: { type: "string" },
  "intermediate-days": { type: "string" },
  "key-size": { type: "string" },
  force: { type: "boolean" },
  ...APPLY_FLAGS,
} as const;

function readRoot(dir: string): { certPem: string; keyPem: string; cert: X509Certificate } {
  const certPath = join(dir, ROOT_CERT);
  const keyPath = join(dir, ROOT_KEY);
  if (!existsSync(certPath) || !existsSync(keyPath))
    throw new WorkError(`no root CA in ${dir} (${ROOT_CERT} and ${ROOT_KEY}): run \`mesh-tailor certs bootstrap\` first`);
  const certPem = readFileSync(certPath, "utf8");
  const keyPem = readFileSync(keyPath, "utf8");
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error(`${ROOT_KEY} does not belong to ${ROOT_CERT}`);
  } catch (error) {
    throw new WorkError(`the root CA in ${dir} is unusable: ${(error as Error).message}`);
  }
  return { certPem, keyPem, cert };
}

export async function addCluster(argv: readonly string[], io: CliIO): Promise<number> {
  const parsed = parseCommandLine(argv, FLAGS, ADD_CLUSTER_HELP, io);
  if (!parsed) return EXIT_OK;
  const { values } = parsed;
  const dir = requiredDir(values.out);
  const cluster = dnsLabel("--cluster", values.cluster);
  const intermediateDays = positiveInteger("--intermediate-days", values["intermediate-days"], 730);
  const bits = keySize(values["key-size"], 4096);
  if (values.context && !values.apply) throw new UsageError("--context goes with --apply");

  const root = readRoot(dir);
  if (!values.force && existsSync(join(dir, cluster)))
    throw new WorkError(`cluster "${cluster}" already exists in ${join(dir, cluster)}; pass --force to issue it a new intermediate. Nothing was written.`);
  const now = new Date();
  const daysLeft = Math.floor((new Date(root.cert.validTo).getTime() - now.getTime()) / DAY_MS);
  if (daysLeft <= 0) throw new WorkError(`the root CA expired on ${root.cert.validTo}: a new cluster cannot join it`);
  if (intermediateDays > daysLeft)
    throw new WorkError(`the root CA expires on ${root.cert.validTo}, in ${daysLeft} days: pass --intermediate-days ${daysLeft} or less`);
  const rootOrganization = (forge.pki.certificateFromPem(root.certPem).subject.getField("O") as { value?: unknown } | null)?.value;
  const organization = values.org ?? (typeof rootOrganization === "string" ? rootOrganization : "mesh-tailor");

  const planned = [...CLUSTER_FILES, "cacerts.yaml"].map((name) => join(dir, cluster, name));
  const { intermediate, files } = await writeCertificateSet(
    dir,
    planned,
    { force: values.force === true },
    `cluster "${cluster}" already has files; pass --force to replace them.`,
    async () => {
      const intermediate = await issueIntermediate({ root, cluster, organization, days: intermediateDays, keyBits: bits, now });
      return { intermediate, files: clusterFiles(dir, cluster, root, intermediate) };
    },
  );
  write(io.stderr, `wrote cluster "${cluster}" under the existing root:`);
  listWritten(io.stderr, files);
  if (values.apply)
    write(
      io.stderr,
      await applyToCluster(values.context, (api, apply) => apply.applyCacerts(api, cacertsData(root, intermediate), { force: values.force === true })),
    );
  else write(io.stderr, `install with: kubectl --context <${cluster}> apply -f ${join(dir, cluster, "cacerts.yaml")}`);
  return EXIT_OK;
}
