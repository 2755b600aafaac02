import { backoffDelay } from "./backoff.js";

/**
 * Namespaces waiting to be reconciled, each at most once in the queue however often it changes,
 * and never processed by two workers at once (a change during processing runs it again after).
 * A key that fails is retried with backoff; one that succeeds forgets its failures.
 */
export class WorkQueue {
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private waiters: (() => void)[] = [];
  private stopped = false;

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.queued.add(key);
    this.wakeAll();
  }

  get length(): number {
    return this.queued.size;
  }

  /** Retries KEY after a backoff that grows with its failures in a row. */
  retry(key: string): void {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    if (this.timers.has(key)) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, backoffDelay(failures));
    timer.unref();
    this.timers.set(key, timer);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Runs HANDLER on keys with CONCURRENCY workers until stop(). */
  async run(handler: (key: string) => Promise<void>, concurrency: number): Promise<void> {
    await Promise.all(Array.from({ length: concurrency }, () => this.worker(handler)));
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.wakeAll();
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private next(): string | undefined {
    for (const key of this.queued) {
      this.queued.delete(key);
      return key;
    }
    return undefined;
  }

  private async worker(handler: (key: string) => Promise<void>): Promise<void> {
    while (!this.stopped) {
      const key = this.next();
      if (key === undefined) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        continue;
      }
      this.processing.add(key);
      try {
        await handler(key);
      } finally {
        this.processing.delete(key);
        if (this.dirty.delete(key)) this.add(key);
      }
    }
  }
}
