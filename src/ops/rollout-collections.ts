import type { KubeApi } from "../kube/client.js";
import { isTransient } from "../kube/errors.js";
import type { KubeObject } from "../kube/object.js";
import { collectionPathOf, type RolloutTarget } from "./rollout-restart.js";
import { collectionKey } from "./status.js";

/**
 * A LIST of a collection stands in for reading its in-flight workloads one by one when it answers
 * at least two of them and holds at most this many workloads per one it answers: one request
 * instead of several, and not much more to send than the GETs would.
 */
export const LIST_SIZE_PER_IN_FLIGHT = 4;

export const listIsCheaper = (inFlightInCollection: number, collectionSize: number | undefined): boolean =>
  inFlightInCollection >= 2 && collectionSize !== undefined && collectionSize <= LIST_SIZE_PER_IN_FLIGHT * inFlightInCollection;

/** A workload as a LIST of its collection answered, and when. */
export interface Listed {
  readonly object: KubeObject;
  readonly readAtMs: number;
}

/** The longest a collection is left to GETs after a LIST of it failed for a moment. */
const LIST_RETRY_MAX_MS = 30_000;

/**
 * rollout's reads of in-flight workloads by one LIST of their namespace's collection, where that
 * is cheaper than a GET each (listIsCheaper): at 50 in flight, mostly a few namespaces' worth, a
 * cycle costs a few requests instead of 50. Sizes come from what status read and are corrected
 * by each LIST's answer. A LIST that fails leaves its workloads to their own reads (which wait out
 * an outage within each one's timeout): for a while, with backoff, when the API server was away;
 * for good when it refused (RBAC, an answer too large).
 */
export class CollectionReads {
  private readonly sizes: Map<string, number>;
  private readonly retry = new Map<string, { failures: number; atMs: number }>();

  constructor(
    private readonly api: Pick<KubeApi, "list">,
    sizes: ReadonlyMap<string, number> | undefined,
    private readonly pollMs: number,
  ) {
    this.sizes = new Map(sizes ?? []);
  }

  /** The workloads of INFLIGHT read by LIST this cycle: those of each collection worth a LIST with one due a read. */
  async read(inFlight: ReadonlyMap<RolloutTarget, { readonly nextReadMs: number }>, signal?: AbortSignal): Promise<Map<RolloutTarget, Listed>> {
    const now = Date.now();
    const byCollection = new Map<string, RolloutTarget[]>();
    for (const target of inFlight.keys()) {
      const key = collectionKey(target);
      if (!byCollection.has(key)) byCollection.set(key, []);
      byCollection.get(key)!.push(target);
    }
    const read = new Map<RolloutTarget, Listed>();
    for (const [key, targets] of byCollection) {
      if (!listIsCheaper(targets.length, this.sizes.get(key))) continue;
      if (now < (this.retry.get(key)?.atMs ?? 0)) continue;
      if (!targets.some((target) => now >= inFlight.get(target)!.nextReadMs)) continue;
      try {
        // As short a wait as a GET's (a second at the usual poll): the GETs are the fallback.
        const { items } = await this.api.list(collectionPathOf(targets[0]!), {}, { signal, timeoutMs: Math.max(1_000, Math.min(30_000, this.pollMs)) });
        const readAtMs = Date.now();
        this.sizes.set(key, items.length);
        this.retry.delete(key);
        const byName = new Map(items.map((item) => [item.metadata.name, item]));
        for (const target of targets) {
          const object = byName.get(target.name);
          if (object) read.set(target, { object, readAtMs });
        }
      } catch (error) {
        if (signal?.aborted) break;
        if (!isTransient(error)) {
          this.sizes.delete(key);
          continue;
        }
        const failures = (this.retry.get(key)?.failures ?? 0) + 1;
        this.retry.set(key, { failures, atMs: Date.now() + Math.min(this.pollMs * 2 ** failures, LIST_RETRY_MAX_MS) });
      }
    }
    return read;
  }
}
