import type { Logger } from "pino";
import { sleep } from "./backoff.js";
import type { KubeApi } from "./client.js";
import { monotonicMs } from "./clock.js";
import { isNotFound } from "./errors.js";
import type { KubeObject } from "./object.js";

/** The fields of a coordination.k8s.io/v1 Lease that leader election reads and writes. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** When this process last saw the lease's record change, by its own monotonic clock. */
export interface Observation {
  readonly record: string;
  readonly atMs: number;
}

export type LeaseAction = "acquire" | "renew" | "wait";

const recordOf = (spec: LeaseSpec | undefined): string => `${spec?.holderIdentity ?? ""}@${spec?.renewTime ?? ""}`;

/**
 * What to do with the lease now. Expiry is judged by this process's own monotonic clock, from
 * when it last saw the record change, never from the renewTime another node wrote: clocks differ.
 * An empty holder is a lease released on purpose, free at once.
 */
export function leaseAction(
  spec: LeaseSpec | undefined,
  identity: string,
  observation: Observation | undefined,
  nowMs: number,
): { action: LeaseAction; observation: Observation } {
  const record = recordOf(spec);
  const seen = observation?.record === record ? observation : { record, atMs: nowMs };
  if (!spec?.holderIdentity) return { action: "acquire", observation: seen };
  if (spec.holderIdentity === identity) return { action: "renew", observation: seen };
  const durationMs = (spec.leaseDurationSeconds ?? 15) * 1000;
  return { action: nowMs - seen.atMs > durationMs ? "acquire" : "wait", observation: seen };
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

/** Thrown by a fence: this process may no longer act as the leader. */
export class NotLeaderError extends Error {
  override readonly name = "NotLeaderError";
}

/**
 * One span of leadership. Its signal aborts the moment leadership is lost or given up, which
 * cancels every request made with it; its fence, run just before each write is sent, refuses
 * once the signal has fired or the last renewal is older than the renew deadline, measured on
 * the monotonic clock (so a process resumed after SIGSTOP refuses before any timer has run).
 */
export interface LeaderTerm {
  readonly signal: AbortSignal;
  fence(): void;
}

export interface LeaderElectionOptions {
  readonly api: Pick<KubeApi, "request">;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly logger: Logger;
  /** client-go's and controller-runtime's defaults: 15 s lease, 10 s to renew, retry every 2 s. */
  readonly leaseSeconds?: number;
  readonly renewDeadlineSeconds?: number;
  readonly retrySeconds?: number;
  readonly onStartedLeading: (term: LeaderTerm) => void;
  /** Leadership lost (not given up): the term's signal has fired; the process must stop acting. */
  readonly onStoppedLeading: (why: string) => void;
  /** The monotonic clock, in ms (tests move it). */
  readonly clock?: () => number;
}

type Lease = KubeObject & { spec?: LeaseSpec };

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: a
 * candidate takes the lease once its record has not changed for a lease duration; the leader
 * renews every retry period with an optimistic-concurrency update. Each renewal is cut off at
 * the renew deadline (its request aborted, not left to a transport timeout), and a leader that
 * has not renewed by then, or that sees another holder, loses at once: its term's signal fires
 * before anyone else may take the lease (deadline < duration). Once lost, it never leads again:
 * the process is expected to exit and start afresh as a candidate.
 */
export class LeaderElector {
  private term: { controller: AbortController; renewedAtMs: number } | undefined;
  private observation: Observation | undefined;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private readonly clock: () => number;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;

  constructor(private readonly options: LeaderElectionOptions) {
    this.clock = options.clock ?? monotonicMs;
    this.leaseMs = (options.leaseSeconds ?? 15) * 1000;
    this.renewDeadlineMs = (options.renewDeadlineSeconds ?? 10) * 1000;
    this.retryMs = (options.retrySeconds ?? 2) * 1000;
    if (this.renewDeadlineMs >= this.leaseMs) throw new Error("the renew deadline must be shorter than the lease duration");
    if (this.retryMs >= this.renewDeadlineMs) throw new Error("the retry period must be shorter than the renew deadline");
  }

  get isLeader(): boolean {
    return this.term !== undefined && this.deadlineLeftMs() > 0;
  }

  /** Runs the election until stop() or until leadership is lost; the promise ends with it. */
  start(): Promise<void> {
    return (this.running ??= this.run());
  }

  /**
   * Gives up: no more attempts, and a leader's term ends at once (its signal fires). The lease is
   * not released here: call release() once whatever acted under the term has stopped.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.endTerm();
    await this.running;
  }

  /** Hands the lease back (empty holder, 1 s duration) so a standby takes over at once; only if still ours. */
  async release(): Promise<void> {
    try {
      // Not under the stopped election's signal: this is the last thing it does.
      const signal = AbortSignal.timeout(this.renewDeadlineMs);
      const lease = await this.read(signal);
      if (!lease || lease.spec?.holderIdentity !== this.options.identity) return;
      const now = Date.now();
      await this.write(
        lease,
        { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime(now), acquireTime: microTime(now) },
        this.renewDeadlineMs,
        signal,
      );
      this.options.logger.info({ lease: this.leaseName }, "leader lease released");
    } catch (error) {
      this.options.logger.warn({ err: { message: (error as Error).message } }, "could not release the leader lease; it expires by itself");
    }
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases`;
  }

  private get leaseName(): string {
    return `${this.options.namespace}/${this.options.name}`;
  }

  private deadlineLeftMs(): number {
    return this.term ? this.term.renewedAtMs + this.renewDeadlineMs - this.clock() : 0;
  }

  private async read(signal: AbortSignal, timeoutMs?: number): Promise<Lease | undefined> {
    try {
      return await this.options.api.request<Lease>("GET", `${this.path}/${this.options.name}`, { signal, timeoutMs });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private write(current: Lease | undefined, spec: LeaseSpec, timeoutMs: number, signal: AbortSignal): Promise<Lease> {
    if (!current) {
      const body = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.options.name, namespace: this.options.namespace }, spec };
      return this.options.api.request<Lease>("POST", this.path, { body, timeoutMs, signal });
    }
    // The resourceVersion makes the update fail (409) if anyone wrote the lease since it was read.
    return this.options.api.request<Lease>("PUT", `${this.path}/${this.options.name}`, { body: { ...current, spec }, timeoutMs, signal });
  }

  /**
   * One read-and-write of the lease. TIMEOUTMS bounds the whole attempt (a leader's: what is left
   * of its renew deadline). Returns true when this process holds the lease after it.
   */
  private async attempt(timeoutMs: number): Promise<boolean> {
    const { identity } = this.options;
    const startedMs = this.clock();
    const left = () => Math.max(1, timeoutMs - (this.clock() - startedMs));
    const lease = await this.read(this.stopping.signal, left());
    const now = this.clock();
    const decided = leaseAction(lease?.spec, identity, this.observation, now);
    this.observation = decided.observation;
    if (decided.action === "wait") {
      if (this.term) this.lose(`the lease is held by ${lease?.spec?.holderIdentity ?? "another process"}`);
      return false;
    }
    const spec = lease?.spec ?? {};
    const taking = decided.action === "acquire";
    const wallNow = Date.now();
    // Counted from before the write is sent: the lease runs from when others see it change, later.
    const sentAtMs = this.clock();
    const written = await this.write(
      lease,
      {
        holderIdentity: identity,
        leaseDurationSeconds: this.leaseMs / 1000,
        acquireTime: taking ? microTime(wallNow) : (spec.acquireTime ?? microTime(wallNow)),
        renewTime: microTime(wallNow),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (taking && spec.holderIdentity ? 1 : 0),
      },
      left(),
      this.stopping.signal,
    );
    this.observation = { record: recordOf(written.spec), atMs: this.clock() };
    if (this.term) {
      this.term.renewedAtMs = sentAtMs;
      return true;
    }
    if (this.stopping.signal.aborted) return false;
    const controller = new AbortController();
    const term = { controller, renewedAtMs: sentAtMs };
    this.term = term;
    this.options.logger.info({ lease: this.leaseName, identity }, "became the leader");
    this.options.onStartedLeading({
      signal: controller.signal,
      fence: () => {
        if (controller.signal.aborted || this.term !== term || term.renewedAtMs + this.renewDeadlineMs - this.clock() <= 0)
          throw new NotLeaderError(`${identity} is no longer the leader of ${this.leaseName}`);
      },
    });
    return true;
  }

  private endTerm(): boolean {
    const term = this.term;
    if (!term) return false;
    this.term = undefined;
    term.controller.abort();
    return true;
  }

  private lose(why: string): void {
    if (!this.endTerm()) return;
    this.stopping.abort();
    this.options.logger.error({ lease: this.leaseName, why }, "leadership lost");
    this.options.onStoppedLeading(why);
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    while (!this.stopping.signal.aborted) {
      const leading = this.term !== undefined;
      // A candidate's attempt has a retry period; a leader's, what is left of its renew deadline.
      const budget = leading ? this.deadlineLeftMs() : this.renewDeadlineMs;
      if (leading && budget <= 0) {
        this.lose(`the lease was not renewed within ${this.renewDeadlineMs / 1000} s`);
        break;
      }
      let deadline: NodeJS.Timeout | undefined;
      if (leading) {
        // Lost at the deadline even while an attempt is still waiting for its answer.
        deadline = setTimeout(() => this.lose(`the lease was not renewed within ${this.renewDeadlineMs / 1000} s`), budget);
      }
      try {
        await this.attempt(budget);
      } catch (error) {
        if (!this.stopping.signal.aborted)
          logger.warn({ lease: this.leaseName, err: { message: (error as Error).message } }, "leader election: lease not read or written");
      } finally {
        clearTimeout(deadline);
      }
      if (this.stopping.signal.aborted) break;
      if (this.term && this.deadlineLeftMs() <= 0) {
        this.lose(`the lease was not renewed within ${this.renewDeadlineMs / 1000} s`);
        break;
      }
      // A leader retries at its pace until the deadline; a candidate jitters (up to a fifth of the
      // period), so replicas do not hit an API server that just came back in step.
      const wait = this.term ? this.retryMs : this.retryMs * (1 + 0.2 * Math.random());
      await sleep(wait, this.stopping.signal);
    }
  }
}
