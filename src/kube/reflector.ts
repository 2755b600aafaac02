import type { Logger } from "pino";
import { backoffDelay, sleep } from "./backoff.js";
import { WATCH_SILENCE_GRACE_MS, type KubeApi, type ListOptions } from "./client.js";
import { monotonicMs } from "./clock.js";
import { isGone, isResourceVersionTooLarge } from "./errors.js";
import { keyOf, type KubeObject, type WatchEvent } from "./object.js";

// A mirror out of touch is a controller deciding on old facts: after an outage it must be back
// within seconds of the API server, so its retries never wait longer than this (jittered).
const MAX_BACKOFF_MS = 8_000;

export type ListWatchApi = Pick<KubeApi, "list" | "watch">;
/** gone: listed again (410 or a resourceVersion the server has not reached); error; closed: ended by the server. */
export type RestartReason = "gone" | "error" | "closed";

export interface ReflectorOptions {
  readonly api: ListWatchApi;
  /** The collection, e.g. /api/v1/namespaces. */
  readonly path: string;
  readonly query?: Record<string, string>;
  /** For logs and metrics. */
  readonly resource: string;
  readonly logger: Logger;
  /** An object appeared or changed (UPSERT), or is gone (DELETE). */
  readonly onChange: (key: string, object: KubeObject | undefined) => void;
  /** After each complete LIST: the store holds the whole collection. */
  readonly onSynced?: () => void;
  readonly onRestart?: (reason: RestartReason) => void;
  /**
   * How long one watch runs before the server ends it and it is resumed (default 60 s,
   * jittered by a fifth). It also bounds how long a dead connection can go unnoticed: a watch
   * silent past it (plus a grace) is restarted, and the mirror reports itself stale.
   */
  readonly watchSeconds?: number;
  readonly clock?: () => number;
}

/**
 * A local copy of one collection, kept current the way client-go's reflector keeps it: a paged
 * LIST, then a WATCH from the list's resourceVersion, resumed from the last one seen when the
 * server ends it, listed afresh on 410 Gone or on a resourceVersion the server has not reached
 * (ResourceVersionTooLarge), and retried with backoff on any other error. Bookmarks move the
 * resourceVersion of a quiet collection and prove the connection alive.
 */
export class Reflector {
  readonly store = new Map<string, KubeObject>();
  private resourceVersion: string | undefined;
  private hasSynced = false;
  private lastContactMs: number;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private readonly clock: () => number;

  constructor(private readonly options: ReflectorOptions) {
    this.clock = options.clock ?? monotonicMs;
    this.lastContactMs = this.clock();
  }

  get synced(): boolean {
    return this.hasSynced;
  }

  /** Longest a healthy watch goes without a word: its run plus the grace before it is declared dead. */
  get silenceBoundMs(): number {
    return (this.options.watchSeconds ?? 60) * 1.2 * 1000 + WATCH_SILENCE_GRACE_MS;
  }

  /** Why the mirror cannot be trusted now, or undefined: never listed, or silent past its bound. */
  staleness(): string | undefined {
    if (!this.hasSynced) return `${this.options.resource} not listed yet`;
    const silentMs = this.clock() - this.lastContactMs;
    if (silentMs > this.silenceBoundMs) return `${this.options.resource}: no word from the API server for ${Math.round(silentMs / 1000)} s`;
    return undefined;
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private heard = (): void => {
    this.lastContactMs = this.clock();
  };

  private async run(): Promise<void> {
    const { logger, resource } = this.options;
    let failures = 0;
    while (!this.abort.signal.aborted) {
      const started = this.clock();
      try {
        if (this.resourceVersion === undefined) await this.relist();
        await this.watchOnce();
        if (this.abort.signal.aborted) return;
        this.heard();
        // A watch the server ends early and at once, again and again, must not become a busy loop.
        failures = this.clock() - started < 1_000 ? failures + 1 : 0;
        this.options.onRestart?.("closed");
      } catch (error) {
        if (this.abort.signal.aborted) return;
        if (isGone(error) || isResourceVersionTooLarge(error)) {
          logger.info(
            { resource, resourceVersion: this.resourceVersion, err: { message: (error as Error).message } },
            "watch cannot resume from its resourceVersion: listing again",
          );
          this.resourceVersion = undefined;
          this.options.onRestart?.("gone");
          // Listed again at once the first time; a server that keeps refusing is backed off from.
          failures += 1;
          if (failures === 1) continue;
        } else {
          failures += 1;
          this.options.onRestart?.("error");
          logger.warn({ resource, err: { message: (error as Error).message }, failures }, "list/watch failed: retrying with backoff");
        }
      }
      await sleep(backoffDelay(failures, 500, MAX_BACKOFF_MS), this.abort.signal);
    }
  }

  private async relist(): Promise<void> {
    const listOptions: ListOptions = { signal: this.abort.signal };
    const { items, resourceVersion } = await this.options.api.list(this.options.path, this.options.query, listOptions);
    this.heard();
    const seen = new Set<string>();
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      const previous = this.store.get(key);
      this.store.set(key, item);
      if (previous?.metadata.resourceVersion !== item.metadata.resourceVersion) this.options.onChange(key, item);
    }
    for (const key of [...this.store.keys()]) {
      if (seen.has(key)) continue;
      this.store.delete(key);
      this.options.onChange(key, undefined);
    }
    this.resourceVersion = resourceVersion;
    this.hasSynced = true;
    this.options.onSynced?.();
  }

  private watchOnce(): Promise<void> {
    const seconds = this.options.watchSeconds ?? 60;
    const timeoutSeconds = Math.max(1, Math.round(seconds * (0.8 + 0.4 * Math.random())));
    return this.options.api.watch(
      this.options.path,
      { ...this.options.query, resourceVersion: this.resourceVersion, timeoutSeconds },
      (event) => this.apply(event),
      this.abort.signal,
      this.heard,
    );
  }

  private apply(event: WatchEvent): void {
    this.resourceVersion = event.object.metadata.resourceVersion ?? this.resourceVersion;
    if (event.type === "BOOKMARK") return;
    const key = keyOf(event.object);
    if (event.type === "DELETED") {
      this.store.delete(key);
      this.options.onChange(key, undefined);
    } else {
      this.store.set(key, event.object);
      this.options.onChange(key, event.object);
    }
  }
}
