import type { Logger } from "pino";
import { FileSetWatcher, type FileSetRead } from "../util/file-set-watcher.js";
import { loadPolicyOffThread } from "./load-off-thread.js";
import { MAX_POLICY_BYTES, PolicyError, type CompiledPolicy } from "./load.js";

export interface PolicyReloaderOptions {
  readonly logger: Logger;
  readonly pollMs?: number | undefined;
  /** Called with each new policy once it is in force. */
  readonly onReload?: (next: CompiledPolicy) => void;
  readonly onRefused?: (problems: readonly string[]) => void;
}

/**
 * The policy file, hot reloaded the way a mounted ConfigMap changes. A changed file is parsed in a
 * worker thread, so a large one never stalls the process; a bad one is refused and the previous
 * policy stays in force. The webhook and the controller share it.
 */
export class PolicyReloader {
  private policy: CompiledPolicy;
  private closed = false;
  private readonly watcher: FileSetWatcher;

  constructor(
    private readonly path: string,
    initial: CompiledPolicy,
    private readonly options: PolicyReloaderOptions,
  ) {
    this.policy = initial;
    const poll = options.pollMs === undefined ? {} : { pollMs: options.pollMs };
    this.watcher = new FileSetWatcher([path], (read) => this.onChange(read), { ...poll, maxBytes: MAX_POLICY_BYTES });
  }

  get current(): CompiledPolicy {
    return this.policy;
  }

  start(): void {
    this.watcher.start([Buffer.from(this.policy.source)]);
  }

  /** Reads the file now instead of waiting for an event or the poll. */
  check(): Promise<void> {
    return this.watcher.check();
  }

  close(): void {
    this.closed = true;
    this.watcher.close();
  }

  private async onChange(read: FileSetRead): Promise<void> {
    const { logger } = this.options;
    try {
      if (!read.ok) throw new PolicyError(this.path, [`cannot read the file (${read.error.message})`]);
      const next = await loadPolicyOffThread(read.contents[0]!.toString("utf8"), this.path);
      if (this.closed) return;
      this.policy = next;
      logger.info({ policyRevision: next.revision, services: next.policy.services.length, meshEnabled: next.policy.mesh.enabled }, "policy reloaded");
      this.options.onReload?.(next);
    } catch (error) {
      const problems = error instanceof PolicyError ? error.problems : [(error as Error).message];
      logger.error({ problems, policyRevision: this.policy.revision }, "new policy refused; the previous one stays in force");
      this.options.onRefused?.(problems);
    }
  }
}
