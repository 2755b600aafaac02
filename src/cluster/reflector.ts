import type { Logger } from "pino";
import type { KubeApi, KubeObject, WatchEvent } from "./api.js";
import { isGone } from "./api.js";
import { backoffDelay, sleep } from "./backoff.js";

export type ListWatchApi = Pick<KubeApi, "list" | "watch">;
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
  /** How long one watch runs before the server ends it and it is resumed (default 5 min, jittered). */
  readonly watchSeconds?: number;
}

export const keyOf = (object: KubeObject): string => (object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata.name);

/**
 * A local copy of one collection, kept current the way client-go's reflector keeps it: a paged
 * LIST, then a WATCH from the list's resourceVersion, resumed from the last one seen when the
 * server ends it, listed afresh on 410 Gone, and retried with backoff on any other error.
 */
export class Reflector {
  readonly store = new Map<string, KubeObject>();
  private resourceVersion: string | undefined;
  private hasSynced = false;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly options: ReflectorOptions) {}

  get synced(): boolean {
    return this.hasSynced;
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    const { logger, resource } = this.options;
    let failures = 0;
    while (!this.abort.signal.aborted) {
      const started = Date.now();
      try {
        if (this.resourceVersion === undefined) await this.relist();
        await this.watchOnce();
        if (this.abort.signal.aborted) return;
        // A watch the server ends early and at once, again and again, must not become a busy loop.
        failures = Date.now() - started < 1_000 ? failures + 1 : 0;
        this.options.onRestart?.("closed");
      } catch (error) {
        if (this.abort.signal.aborted) return;
        if (isGone(error)) {
          logger.info({ resource, resourceVersion: this.resourceVersion }, "watch expired (410 Gone): listing again");
          this.resourceVersion = undefined;
          this.options.onRestart?.("gone");
          continue;
        }
        failures += 1;
        this.options.onRestart?.("error");
        logger.warn({ resource, err: { message: (error as Error).message }, failures }, "list/watch failed: retrying with backoff");
      }
      await sleep(backoffDelay(failures), this.abort.signal);
    }
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.options.api.list(this.options.path, this.options.query);
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
    const seconds = this.options.watchSeconds ?? 300;
    const timeoutSeconds = Math.max(1, Math.round(seconds * (0.8 + 0.4 * Math.random())));
    return this.options.api.watch(this.options.path, { ...this.options.query, resourceVersion: this.resourceVersion, timeoutSeconds }, (event) => this.apply(event), this.abort.signal);
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
