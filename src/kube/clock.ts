import { performance } from "node:perf_hooks";

/**
 * Milliseconds on the monotonic clock (uv_hrtime, CLOCK_MONOTONIC), counted from the process's
 * start: it never steps back or jumps with NTP or a changed wall clock, so durations measured
 * with it (lease expiry, deadlines) stay true, and it keeps counting while the process is
 * stopped (SIGSTOP), which is what a lease's expiry must see.
 */
export const monotonicMs = (): number => performance.now();
