/**
 * Exponential backoff with full jitter: after the Nth failure in a row, a random wait in
 * [base·2^(N-1)/2, base·2^(N-1)], capped at MAXMS. The jitter keeps many clients (both controller
 * replicas, every watch) from retrying in step against an API server that just came back.
 */
export function backoffDelay(failures: number, baseMs = 500, maxMs = 30_000, random: () => number = Math.random): number {
  if (failures <= 0) return 0;
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** Resolves after MS, or at once when SIGNAL aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
