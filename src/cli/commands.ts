import type { CommandDeclaration } from "./command.js";

/**
 * Every command, in the order `--help` lists them. A command's module is loaded only when it
 * runs, so the CLI starts in tens of milliseconds; one that talks to a cluster says so here, and
 * its credentials start resolving while its module loads.
 */
export const COMMANDS: readonly CommandDeclaration[] = [
  { name: "serve", summary: "run the admission webhook (HTTPS)", needsCluster: false, load: async () => (await import("./serve-command.js")).serveCommand },
  {
    name: "inject",
    summary: "preview the webhook's mutations offline on manifests",
    needsCluster: false,
    load: async () => (await import("./inject-command.js")).injectCommand,
  },
  {
    name: "certs",
    summary: "bootstrap the mesh CA (root + per-cluster intermediates) and the webhook's certificate",
    needsCluster: false,
    load: async () => (await import("./certs-command.js")).certsCommand,
  },
  {
    name: "render",
    summary: "print the EnvoyFilter manifests (host-passthrough)",
    needsCluster: false,
    load: async () => (await import("./render-command.js")).renderCommand,
  },
  {
    name: "policy",
    summary: "validate a policy file, or print the built-in policy",
    needsCluster: false,
    load: async () => (await import("./policy-command.js")).policyCommand,
  },
  {
    name: "namespaces",
    summary: "enable, disable and list the namespaces mesh-tailor tailors",
    needsCluster: true,
    load: async () => (await import("./namespaces-command.js")).namespacesCommand,
  },
  {
    name: "explain",
    summary: "explain, from the live cluster, what happens to a workload's pods",
    needsCluster: true,
    load: async () => (await import("./explain-command.js")).explainCommand,
  },
  {
    name: "status",
    summary: "what each workload's pods are, against what the current policy decides",
    needsCluster: true,
    load: async () => (await import("./status-command.js")).statusCommand,
  },
  {
    name: "rollout",
    summary: "restart stale workloads in paced waves that stop at the first failure",
    needsCluster: true,
    load: async () => (await import("./rollout-command.js")).rolloutCommand,
  },
  {
    name: "controller",
    summary: "keep enabled namespaces' default Sidecar and sandboxes (leader-elected)",
    needsCluster: true,
    load: async () => (await import("./controller-command.js")).controllerCommand,
  },
  {
    name: "doctor",
    summary: "check the installation in the live cluster, with fixes",
    needsCluster: true,
    load: async () => (await import("./doctor-command.js")).doctorCommand,
  },
];

/** The command ARGV names, if any. */
export const findCommand = (name: string | undefined): CommandDeclaration | undefined => COMMANDS.find((c) => c.name === name);
