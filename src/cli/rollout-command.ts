import { createInterface } from "node:readline/promises";
import type { RolloutEvent, RolloutPlan, RolloutResult, RolloutTarget } from "../ops/rollout.js";
import { ROLLOUT_ORDERS } from "../ops/rollout-order.js";
import { STALE_REASONS } from "../ops/stale-reasons.js";
import { withClusterPolicy } from "./cluster-session.js";
import {
  duration,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  choiceFlag,
  globFlag,
  parseCommandLine,
  positiveInteger,
  UsageError,
  write,
  type CliIO,
  type Command,
} from "./command.js";
import { summaryLine, unjudgedLines } from "./status-command.js";

const EXIT_INTERRUPTED = 130;

const HELP = `Usage: mesh-tailor rollout [flags]

Restarts the workloads whose pods are stale (see \`mesh-tailor status\`) the way
\`kubectl rollout restart\` does, at most --max-in-flight at a time, each waited for as
\`kubectl rollout status\` waits. The first failure or timeout stops new restarts; what is in
flight is still waited for; then it prints what it did, what failed and why, and the command
that resumes. A workload is done when it has rolled out and its pods are as the policy wants
them (judged as status judges them); pods that came up untailored fail it, with why. A
workload still rolling out (an earlier run's restart, or a deploy) is followed, not restarted
again; a restart whose answer was lost is read back before it is sent again; a moment without
the API server is waited through within --timeout. Workloads a restart cannot fix (no Istio
injector for their revision, a namespace label that overrides it) are refused, and nothing
starts. A rerun selects only what is still stale. CronJobs and Jobs are not restarted
(their next run gets the policy) and bare pods are not deleted: both are reported.
Progress: a bar on a terminal, one JSON line per event otherwise. Ctrl-C starts nothing new
and exits with a summary.

Exit codes: 0 done (or nothing stale), 1 a workload failed or timed out, 2 bad usage,
130 interrupted.

Flags:
  --namespace GLOB       only namespaces matching (globs as in the policy: *, ?, [a-z], [!a-z], \\)
  --service GLOB         only services matching
  --all                  every matching workload, not only the stale ones
  --reason R             only pods stale for R, as \`mesh-tailor status --reason R\` counts
                         them: policy, dataplane (the moves into ambient and back, alone),
                         proxy-version (an Istio upgrade: proxies from another revision or
                         image than Istio injects now), or sidecar-mode (classic to native)
  --order ORDER          workload (default: up to --max-in-flight at once, whatever their
                         namespace) or namespace (one namespace at a time, each finished
                         before the next starts, in name order: an upgrade in waves)
  --max-in-flight N      restarts at a time (default 5)
  --pause DURATION       wait between one start and the next (default 0s)
  --timeout DURATION     how long one workload may take (default 5m)
  --dry-run              print the plan, restart nothing
  --yes                  do not ask (required without a terminal)
  --config FILE          the policy to judge by (default: the installed ConfigMap, else built-in)
  --context CTX          kubeconfig context (default: the current one)`;

const FLAGS = {
  namespace: { type: "string" },
  service: { type: "string" },
  all: { type: "boolean" },
  stale: { type: "boolean" },
  reason: { type: "string" },
  order: { type: "string" },
  "max-in-flight": { type: "string" },
  pause: { type: "string" },
  timeout: { type: "string" },
  "dry-run": { type: "boolean" },
  yes: { type: "boolean", short: "y" },
  config: { type: "string" },
  context: { type: "string" },
} as const;

const name = (t: RolloutTarget) => `${t.namespace}/${t.kind.toLowerCase()}/${t.name}`;
const isTty = (stream: NodeJS.WritableStream) => (stream as { isTTY?: boolean }).isTTY === true;

/** The command line that resumes this run: the same selection, which now finds only what is still stale. */
function resumeCommand(argv: readonly string[]): string {
  const kept = argv.filter((arg) => arg !== "--dry-run");
  return ["mesh-tailor", "rollout", ...kept.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`))].join(" ");
}

/** The plan, on STREAM: stdout when it is all that was asked for (--dry-run), else stderr beside the progress. */
function printPlan(stream: NodeJS.WritableStream, plan: RolloutPlan): void {
  write(stream, `restart ${plan.restart.length} workload(s)${plan.restart.length ? `:\n${plan.restart.map((t) => `  ${name(t)}`).join("\n")}` : ""}`);
  for (const { target, reason } of plan.skipped) write(stream, `skip ${name(target)}: ${reason}`);
  for (const { target, reason } of plan.refused) write(stream, `refuse ${name(target)}: ${reason}`);
}

function printSummary(io: CliIO, result: RolloutResult, argv: readonly string[]): void {
  write(
    io.stderr,
    `rollout: ${result.done.length} done, ${result.failed.length} failed, ${result.inFlight.length} still rolling out, ${result.notStarted.length} not started${result.interrupted ? " (interrupted)" : ""}`,
  );
  for (const { target, reason } of result.failed) write(io.stderr, `  failed ${name(target)}: ${reason}`);
  for (const target of result.inFlight)
    write(
      io.stderr,
      `  still rolling out ${name(target)} (follow it: kubectl rollout status ${target.kind.toLowerCase()}/${target.name} -n ${target.namespace})`,
    );
  if (result.failed.length > 0 || result.notStarted.length > 0 || result.inFlight.length > 0) {
    write(io.stderr, `resume, once the cause is fixed, with:\n  ${resumeCommand(argv)}`);
  }
}

export const rolloutCommand: Command = {
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommandLine(argv, FLAGS, HELP, io);
    if (!parsed) return EXIT_OK;
    const { values } = parsed;
    if (values.all && values.stale) throw new UsageError("--all and --stale exclude each other (--stale is the default)");
    const options = {
      maxInFlight: positiveInteger("--max-in-flight", values["max-in-flight"], 5),
      pauseMs: duration("--pause", values.pause, 0),
      timeoutMs: duration("--timeout", values.timeout, 5 * 60_000),
      order: choiceFlag("--order", values.order, ROLLOUT_ORDERS),
    };
    if (options.timeoutMs === 0) throw new UsageError("--timeout must be more than 0");
    const filter = {
      namespace: globFlag("--namespace", values.namespace),
      service: globFlag("--service", values.service),
      reason: choiceFlag("--reason", values.reason, STALE_REASONS),
    };
    const modules = Promise.all([import("../ops/status.js"), import("../ops/rollout.js"), import("../ops/rollout-verify.js")]);
    return withClusterPolicy(
      values.context,
      values.config,
      modules,
      async (api, { policy }, [{ readStatusAndInjectors }, { planRollout, runRollout }, { tailoredCheck }]) => {
        const { report, injectors, collectionSizes } = await readStatusAndInjectors(api, policy, filter);
        write(io.stderr, summaryLine(report));
        // What it could not judge is not in the plan: said, not passed over.
        for (const line of unjudgedLines(report)) write(io.stderr, line);
        const plan = planRollout(report, values.all === true);
        printPlan(values["dry-run"] ? io.stdout : io.stderr, plan);
        if (plan.refused.length > 0) {
          // A restart cannot fix these, and a wave that restarts them would only loop: nothing starts.
          write(
            io.stderr,
            `mesh-tailor rollout: ${plan.refused.length} workload(s) cannot be tailored as the policy asks (above); nothing was restarted. Fix the policy or the cluster, or leave them out with --namespace/--service, then run:\n  ${resumeCommand(argv)}`,
          );
          return EXIT_FAILED;
        }
        if (plan.restart.length === 0 || values["dry-run"]) return EXIT_OK;
        if (!values.yes) {
          const stdin = io.stdin as NodeJS.ReadableStream & { isTTY?: boolean };
          if (!stdin.isTTY || !isTty(io.stderr)) {
            write(io.stderr, "mesh-tailor rollout: pass --yes to restart them without a terminal to confirm on (or --dry-run to only see the plan)");
            return EXIT_USAGE;
          }
          const prompt = createInterface({ input: stdin, output: io.stderr });
          const answer = await prompt.question(`restart ${plan.restart.length} workload(s)? [y/N] `);
          prompt.close();
          if (!/^y(es)?$/i.test(answer.trim())) {
            write(io.stderr, "nothing restarted (not confirmed)");
            return EXIT_OK;
          }
        }

        const interrupt = new AbortController();
        const onSigint = () => {
          write(io.stderr, "\ninterrupted: starting nothing new");
          interrupt.abort();
        };
        process.on("SIGINT", onSigint);
        process.on("SIGTERM", onSigint);
        const tty = isTty(io.stderr);
        let finished = 0;
        const onEvent = (event: RolloutEvent) => {
          if (event.event === "done" || event.event === "failed") finished += 1;
          if (!tty) {
            write(io.stdout, JSON.stringify({ time: new Date().toISOString(), ...event }));
            return;
          }
          const total = plan.restart.length;
          const width = 30;
          const filled = Math.round((finished / total) * width);
          const line =
            event.event === "failed"
              ? `failed ${name(event.target)}: ${event.reason}`
              : event.event === "progress"
                ? `${name(event.target)}: ${event.message}`
                : event.event === "started" && event.following
                  ? `following ${name(event.target)} (already rolling out)`
                  : `${event.event} ${name(event.target)}`;
          io.stderr.write(`\r\x1b[K[${"#".repeat(filled)}${".".repeat(width - filled)}] ${finished}/${total}  ${line.slice(0, 80)}`);
          if (event.event === "failed") io.stderr.write("\n");
        };
        let result: RolloutResult;
        try {
          const verify = tailoredCheck(api, policy, injectors);
          result = await runRollout(api, plan, { ...options, verify, collectionSizes }, onEvent, interrupt.signal);
        } finally {
          process.off("SIGINT", onSigint);
          process.off("SIGTERM", onSigint);
        }
        if (tty) io.stderr.write("\n");
        if (!tty)
          write(
            io.stdout,
            JSON.stringify({
              time: new Date().toISOString(),
              event: "summary",
              done: result.done.length,
              failed: result.failed,
              inFlight: result.inFlight,
              notStarted: result.notStarted,
              interrupted: result.interrupted,
              apiRequests: api.requests,
            }),
          );
        printSummary(io, result, argv);
        return result.interrupted ? EXIT_INTERRUPTED : result.failed.length > 0 ? EXIT_FAILED : EXIT_OK;
      },
    );
  },
};
