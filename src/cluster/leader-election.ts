import type { Logger } from "pino";
import { isNotFound, type KubeApi, type KubeObject } from "./api.js";
import { sleep } from "./backoff.js";

/** The fields of a coordination.k8s.io/v1 Lease that leader election reads and writes. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** When this process last saw the lease's record change, by its own clock. */
export interface Observation {
  readonly record: string;
  readonly atMs: number;
}

export type LeaseAction = "acquire" | "renew" | "wait";

const recordOf = (spec: LeaseSpec | undefined): string => `${spec?.holderIdentity ?? ""}@${spec?.renewTime ?? ""}`;

/**
 * What to do with the lease now. Expiry is judged by this process's own clock, from when it
 * last saw the record change, never from the renewTime another node wrote: clocks differ.
 * An empty holder is a lease released on purpose, free at once.
 */
export function leaseAction(spec: LeaseSpec | undefined, identity: string, observation: Observation | undefined, nowMs: number): { action: LeaseAction; observation: Observation } {
  const record = recordOf(spec);
  const seen = observation?.record === record ? observation : { record, atMs: nowMs };
  if (!spec?.holderIdentity) return { action: "acquire", observation: seen };
  if (spec.holderIdentity === identity) return { action: "renew", observation: seen };
  const durationMs = (spec.leaseDurationSeconds ?? 15) * 1000;
  return { action: nowMs - seen.atMs > durationMs ? "acquire" : "wait", observation: seen };
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

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
  readonly onStartedLeading: () => void;
  /** Leadership lost (not released): the caller must stop acting at once. */
  readonly onStoppedLeading: () => void;
}

type Lease = KubeObject & { spec?: LeaseSpec };

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: the leader renews
 * every retry period with an optimistic-concurrency update; a follower takes the lease once the
 * record has not changed for a lease duration; a leader that cannot renew within the renew
 * deadline stops leading before anyone else may start (deadline < duration).
 */
export class LeaderElector {
  private leading = false;
  private lastRenewMs = 0;
  private observation: Observation | undefined;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly options: LeaderElectionOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Stops trying and, when leading, releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.read();
      if (lease?.spec?.holderIdentity !== this.options.identity) return;
      const now = Date.now();
      await this.write(lease, { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime(now), acquireTime: microTime(now) });
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

  private async read(): Promise<Lease | undefined> {
    try {
      return await this.options.api.request<Lease>("GET", `${this.path}/${this.options.name}`);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private write(current: Lease | undefined, spec: LeaseSpec): Promise<Lease> {
    if (!current) {
      const body = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.options.name, namespace: this.options.namespace }, spec };
      return this.options.api.request<Lease>("POST", this.path, { body });
    }
    // The resourceVersion makes the update fail (409) if anyone wrote the lease since it was read.
    return this.options.api.request<Lease>("PUT", `${this.path}/${this.options.name}`, { body: { ...current, spec } });
  }

  private async tryOnce(): Promise<void> {
    const { identity, logger } = this.options;
    const leaseSeconds = this.options.leaseSeconds ?? 15;
    const lease = await this.read();
    const now = Date.now();
    const decided = leaseAction(lease?.spec, identity, this.observation, now);
    this.observation = decided.observation;
    if (decided.action === "wait") return;
    const spec = lease?.spec ?? {};
    const taking = decided.action === "acquire";
    const written = await this.write(lease, {
      holderIdentity: identity,
      leaseDurationSeconds: leaseSeconds,
      acquireTime: taking ? microTime(now) : (spec.acquireTime ?? microTime(now)),
      renewTime: microTime(now),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (taking && spec.holderIdentity ? 1 : 0),
    });
    this.observation = { record: recordOf(written.spec), atMs: now };
    this.lastRenewMs = now;
    if (!this.leading) {
      this.leading = true;
      logger.info({ lease: this.leaseName, identity }, "became the leader");
      this.options.onStartedLeading();
    }
  }

  private async loop(): Promise<void> {
    const retryMs = (this.options.retrySeconds ?? 2) * 1000;
    const renewDeadlineMs = (this.options.renewDeadlineSeconds ?? 10) * 1000;
    while (!this.abort.signal.aborted) {
      try {
        await this.tryOnce();
      } catch (error) {
        this.options.logger.warn({ lease: this.leaseName, err: { message: (error as Error).message } }, "leader election: lease not read or written");
      }
      if (this.leading && Date.now() - this.lastRenewMs > renewDeadlineMs) {
        this.leading = false;
        this.options.logger.error({ lease: this.leaseName }, "leadership lost: the lease was not renewed in time");
        this.options.onStoppedLeading();
      }
      await sleep(retryMs, this.abort.signal);
    }
  }
}
