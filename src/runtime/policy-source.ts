import type { Logger } from "pino";
import { Gauge, type Counter, type Registry } from "prom-client";
import { loadPolicyOffThread } from "../policy/load-off-thread.js";
import { builtInPolicy, MAX_POLICY_BYTES, PolicyError, type CompiledPolicy } from "../policy/load.js";
import { readPolicyText } from "../policy/read-file.js";
import { FileSetWatcher, type FileSetRead } from "../util/file-set-watcher.js";

/** The policy installed in the cluster, read through the API: its text, or undefined when there is none. */
export interface InstalledPolicy {
  readonly where: string;
  read(): Promise<string | undefined>;
}

export interface PolicySourceOptions {
  /** The policy file (a mounted ConfigMap), hot reloaded; undefined for the installed or the built-in policy. */
  readonly file: string | undefined;
  /** Without a file: the installed policy, read again every poll; without either, the built-in one. */
  readonly installed?: InstalledPolicy | undefined;
  readonly logger: Logger;
  readonly pollMs?: number | undefined;
  /** Where the source's own metrics go. */
  readonly registry: Registry;
  /** The process's reload counter (kind, result); the webhook counts certificate reloads in it too. */
  readonly reloads: Counter<"kind" | "result">;
  /** Called with each new policy once it is in force. */
  readonly onReload?: (next: CompiledPolicy) => void;
}

/**
 * The policy a long-running process runs by: the built-in one, or a file hot reloaded the way a
 * mounted ConfigMap changes. A changed file is parsed in a worker thread, so a large one never
 * stalls the process; a bad one is refused and the previous policy stays in force, which the
 * metrics say (mesh_tailor_policy_info names the revision in force; mesh_tailor_policy_refused
 * is 1 while the file on disk is one that was refused). The webhook and the controller share it.
 */
export class PolicySource {
  private policy: CompiledPolicy;
  private closed = false;
  private readonly watcher: FileSetWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private installedText: string | undefined;
  /** Reloads run one at a time: at most one policy being parsed beside the one in force. */
  private reloading: Promise<void> = Promise.resolve();
  /** The newest installed text not yet loaded; a newer one replaces it rather than queueing. */
  private pendingRead: FileSetRead | undefined;
  private readonly info: Gauge<"revision">;
  private readonly refused: Gauge;

  private constructor(
    private readonly options: PolicySourceOptions,
    initial: CompiledPolicy,
  ) {
    this.policy = initial;
    const registers = [options.registry];
    this.info = new Gauge({ name: "mesh_tailor_policy_info", help: "1 for the revision of the policy in force.", labelNames: ["revision"], registers });
    this.refused = new Gauge({
      name: "mesh_tailor_policy_refused",
      help: "1 while the policy file holds a policy that was refused (the previous one stays in force).",
      registers,
    });
    this.info.labels(initial.revision).set(1);
    this.refused.set(0);
    for (const result of ["success", "failure"]) options.reloads.labels("policy", result).inc(0);
    const poll = options.pollMs === undefined ? {} : { pollMs: options.pollMs };
    if (options.file) this.watcher = new FileSetWatcher([options.file], (read) => this.onChange(read), { ...poll, maxBytes: MAX_POLICY_BYTES });
  }

  /** Reads the policy (throwing a PolicyError that says what to fix) and watches where it comes from. */
  static async open(options: PolicySourceOptions): Promise<PolicySource> {
    let initial: CompiledPolicy;
    let installedText: string | undefined;
    // Parsed in a worker, as every reload is: what parsing costs stays within the worker's
    // bounded heap, and is given back when it ends.
    if (options.file) initial = await loadPolicyOffThread(await readPolicyText(options.file), options.file);
    else if (options.installed) {
      installedText = await options.installed.read();
      initial = installedText === undefined ? builtInPolicy() : await loadPolicyOffThread(installedText, options.installed.where);
    } else initial = builtInPolicy();
    const source = new PolicySource(options, initial);
    source.installedText = installedText;
    source.watcher?.start([Buffer.from(initial.source)]);
    if (!options.file && options.installed) source.poll(options.installed);
    return source;
  }

  /** The installed policy, read again every poll; a change is loaded as a file's is. */
  private poll(installed: InstalledPolicy): void {
    let reading = false;
    this.poller = setInterval(() => {
      // One read at a time: a slow read answering after a newer one must not bring back an older policy.
      if (reading) return;
      reading = true;
      installed.read().then(
        (text) => {
          reading = false;
          if (this.closed || text === this.installedText) return;
          this.installedText = text;
          const read: FileSetRead =
            text === undefined ? { ok: true, contents: [Buffer.from(builtInPolicy().source)] } : { ok: true, contents: [Buffer.from(text)] };
          this.enqueue(read);
        },
        (error: unknown) => {
          reading = false;
          this.options.logger.warn(
            { err: { message: (error as Error).message }, policy: installed.where },
            "installed policy not read; the current one stays in force",
          );
        },
      );
    }, this.options.pollMs ?? 10_000);
    this.poller.unref();
  }

  private enqueue(read: FileSetRead): void {
    const queued = this.pendingRead !== undefined;
    this.pendingRead = read;
    if (queued) return;
    this.reloading = this.reloading.then(() => {
      const next = this.pendingRead!;
      this.pendingRead = undefined;
      return this.onChange(next);
    });
  }

  /** Resolves once every installed policy read so far has been loaded or refused. */
  settled(): Promise<void> {
    return this.reloading;
  }

  get current(): CompiledPolicy {
    return this.policy;
  }

  /** Where the policy comes from, for logs. */
  get origin(): string {
    return this.options.file ?? this.options.installed?.where ?? "built-in";
  }

  /** Reads the file now instead of waiting for an event or the poll. */
  async check(): Promise<void> {
    await this.watcher?.check();
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.poller);
  }

  private async onChange(read: FileSetRead): Promise<void> {
    const { logger, reloads } = this.options;
    const path = this.origin;
    try {
      if (!read.ok) throw new PolicyError(path, [`cannot read the file (${read.error.message})`]);
      const next = await loadPolicyOffThread(read.contents[0]!.toString("utf8"), path);
      if (this.closed) return;
      this.info.remove(this.policy.revision);
      this.policy = next;
      this.info.labels(next.revision).set(1);
      this.refused.set(0);
      reloads.labels("policy", "success").inc();
      logger.info({ policyRevision: next.revision, services: next.policy.services.length, meshEnabled: next.policy.mesh.enabled }, "policy reloaded");
      this.options.onReload?.(next);
    } catch (error) {
      const problems = error instanceof PolicyError ? error.problems : [(error as Error).message];
      this.refused.set(1);
      reloads.labels("policy", "failure").inc();
      logger.error({ problems, policyRevision: this.policy.revision }, "new policy refused; the previous one stays in force");
    }
  }
}
