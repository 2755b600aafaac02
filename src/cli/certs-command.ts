import { EXIT_OK, UsageError, write, type Command } from "./command.js";
import { addCluster } from "./certs/add-cluster.js";
import { bootstrap } from "./certs/bootstrap.js";
import { verify } from "./certs/verify.js";
import { webhook } from "./certs/webhook.js";

const HELP = `Usage: mesh-tailor certs <bootstrap|add-cluster|webhook|verify> [flags]

  bootstrap    the mesh's root CA and one intermediate per cluster (Istio's plug-in CA layout)
  add-cluster  a new cluster's intermediate from the existing root
  webhook      a CA and serving certificate for mesh-tailor's own webhook
  verify       check every chain, extension, key pair and expiry in a directory

Run \`mesh-tailor certs <subcommand> --help\` for its flags. Keys are written 0600 in 0700
directories, atomically, and never over an existing key or certificate without --force.`;

const SUBCOMMANDS = { bootstrap, "add-cluster": addCluster, webhook, verify } as const;

export const certsCommand: Command = {
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === undefined) throw new UsageError("certs needs a subcommand: bootstrap, add-cluster, webhook or verify");
    if (sub === "--help" || sub === "-h") {
      write(io.stdout, HELP);
      return EXIT_OK;
    }
    const run = SUBCOMMANDS[sub as keyof typeof SUBCOMMANDS];
    if (!run) throw new UsageError(`unknown certs subcommand "${sub}"; use bootstrap, add-cluster, webhook or verify`);
    return run(rest, io);
  },
};
