import { isIP } from "node:net";
import { join } from "node:path";
import { CERT_MODE, KEY_MODE } from "../../certs/istio-layout.js";
import { issueServingBundle } from "../../certs/serving.js";
import { EXIT_OK, parseCommandLine, positiveInteger, UsageError, write, type CliIO } from "../command.js";
import { APPLY_FLAGS, applyToCluster } from "./apply-flags.js";
import { dnsLabel, keySize, listWritten, requiredDir, writeCertificateSet } from "./shared.js";

export const WEBHOOK_HELP = `Usage: mesh-tailor certs webhook --out DIR --service NAME --namespace NS [--ip IP...]
         [--days N] [--key-size 2048|3072|4096] [--force]
         [--apply [--context CTX] [--secret NAME] [--webhook-configuration NAME]
                  [--if-missing] [--no-ca-bundle]]

Issues a CA and a serving certificate for the webhook, with SANs NAME, NAME.NS, NAME.NS.svc,
NAME.NS.svc.cluster.local (and each --ip), extendedKeyUsage serverAuth. Writes DIR/tls.crt,
DIR/tls.key and DIR/ca.crt (the Kubernetes TLS Secret keys) and prints the base64 caBundle on
standard output. Defaults: --days 365, --key-size 2048.
--apply creates the TLS Secret (default mesh-tailor-tls in NS) and sets the caBundle of every
webhook in the MutatingWebhookConfiguration (default 00-mesh-tailor); rotating an existing
Secret needs --force, and the caBundle then trusts the old and the new CA. For install hooks
that run on every upgrade: --if-missing keeps an existing Secret as it is (the caBundle is made
to trust its ca.crt); --no-ca-bundle leaves the webhook configuration alone (it does not exist
yet before an install).`;

const FLAGS = {
  out: { type: "string" },
  service: { type: "string" },
  namespace: { type: "string" },
  ip: { type: "string", multiple: true },
  days: { type: "string" },
  "key-size": { type: "string" },
  force: { type: "boolean" },
  secret: { type: "string" },
  "webhook-configuration": { type: "string" },
  "if-missing": { type: "boolean" },
  "no-ca-bundle": { type: "boolean" },
  ...APPLY_FLAGS,
} as const;

export async function webhook(argv: readonly string[], io: CliIO): Promise<number> {
  const parsed = parseCommandLine(argv, FLAGS, WEBHOOK_HELP, io);
  if (!parsed) return EXIT_OK;
  const { values } = parsed;
  const dir = requiredDir(values.out);
  const service = dnsLabel("--service", values.service);
  const namespace = dnsLabel("--namespace", values.namespace);
  const ips = values.ip ?? [];
  const badIp = ips.find((ip) => isIP(ip) === 0);
  if (badIp) throw new UsageError(`--ip "${badIp}" is not an IPv4 or IPv6 address`);
  const days = positiveInteger("--days", values.days, 365);
  const bits = keySize(values["key-size"], 2048);
  if ((values.context || values.secret || values["webhook-configuration"] || values["if-missing"] || values["no-ca-bundle"]) && !values.apply) {
    throw new UsageError("--context, --secret, --webhook-configuration, --if-missing and --no-ca-bundle go with --apply");
  }
  if (values["if-missing"] && values.force) throw new UsageError("--if-missing keeps an existing Secret and --force replaces it: choose one");

  const secretName = values.secret ?? "mesh-tailor-tls";
  if (values.apply && values["if-missing"]) {
    // An existing Secret is kept: nothing is issued or written here, only its CA trusted.
    const kept = await applyToCluster(values.context, async (api, apply) => {
      const existing = await apply.existingWebhookCa(api, namespace, secretName);
      if (!existing.exists) return undefined;
      if (!existing.caPem)
        throw new apply.ApplyRefusedError(
          `Secret ${namespace}/${secretName} has no ca.crt, so no caBundle can trust it; delete it, or rotate it with --force instead of --if-missing`,
        );
      const messages = values["no-ca-bundle"] ? [] : [await apply.patchCaBundle(api, values["webhook-configuration"] ?? "00-mesh-tailor", existing.caPem)];
      return { caPem: existing.caPem, messages };
    });
    if (kept) {
      for (const message of kept.messages) write(io.stderr, message);
      write(io.stderr, `Secret ${namespace}/${secretName} exists: kept (--if-missing); nothing was written to ${dir}`);
      write(io.stderr, "caBundle (base64 of the kept ca.crt):");
      write(io.stdout, Buffer.from(kept.caPem).toString("base64"));
      return EXIT_OK;
    }
  }

  const why = "pass --force to replace the webhook's certificate.";
  const hosts = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, ...ips];
  const { files } = await writeCertificateSet(
    dir,
    ["tls.crt", "tls.key", "ca.crt"].map((name) => join(dir, name)),
    { force: values.force === true },
    why,
    async () => {
      const bundle = await issueServingBundle({ hosts, days, keyBits: bits });
      return {
        files: [
          { path: join(dir, "tls.crt"), content: bundle.certPem.replace(/\r\n/g, "\n"), mode: CERT_MODE },
          { path: join(dir, "tls.key"), content: bundle.keyPem, mode: KEY_MODE },
          { path: join(dir, "ca.crt"), content: bundle.caPem.replace(/\r\n/g, "\n"), mode: CERT_MODE },
        ],
      };
    },
  );
  write(io.stderr, `wrote the webhook's CA and serving certificate for ${hosts.join(", ")}:`);
  listWritten(io.stderr, files);
  if (values.apply) {
    const messages = await applyToCluster(values.context, (api, apply) =>
      apply.applyWebhookTls(
        api,
        {
          namespace,
          secretName,
          webhookConfiguration: values["webhook-configuration"] ?? "00-mesh-tailor",
          certPem: files[0]!.content,
          keyPem: files[1]!.content,
          caPem: files[2]!.content,
        },
        { force: values.force === true, ifMissing: values["if-missing"] === true, skipCaBundle: values["no-ca-bundle"] === true },
      ),
    );
    for (const message of messages) write(io.stderr, message);
  }
  write(io.stderr, "caBundle (base64 of ca.crt):");
  write(io.stdout, Buffer.from(files[2]!.content).toString("base64"));
  return EXIT_OK;
}
