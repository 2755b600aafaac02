import * as hdr from "hdr-histogram-js";

export interface LoadResult {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly p999: number; readonly max: number };
  readonly errors: number;
}

/**
 * Latencies in microseconds, for a webhook that answers in about one millisecond (autocannon's
 * own histogram keeps whole milliseconds).
 */
export class LatencyRecorder {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

  recordMs(milliseconds: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(milliseconds * 1000)));
  }

  /** The figures of one run; the recorder is spent afterwards. */
  finish(requests: number, seconds: number, errors: number): LoadResult {
    const ms = (percentile: number) => this.histogram.getValueAtPercentile(percentile) / 1000;
    const result = {
      requests,
      requestsPerSecond: requests / seconds,
      latencyMs: { p50: ms(50), p99: ms(99), p999: ms(99.9), max: this.histogram.maxValue / 1000 },
      errors,
    };
    this.histogram.destroy();
    return result;
  }
}
