import type { IncomingMessage } from "node:http";

interface Upload {
  readonly startedAt: number;
  received: number;
  readonly tooSlow: () => void;
}

/**
 * A minimum upload rate for request bodies: kube-apiserver sends a review from memory, all at
 * once, so a body that falls behind MIN_BYTES_PER_SECOND (after a grace for the first bytes) is
 * not from it, and is cut long before the request timeout instead of holding its share of the
 * body budget for it. One timer serves every upload, and runs only while there are some.
 */
export class UploadPace {
  private readonly uploads = new Set<Upload>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly minBytesPerSecond: number,
    private readonly graceMs: number,
    private readonly checkEveryMs = 250,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Watches REQ's body until the returned function is called; TOO_SLOW is called at most once. */
  watch(req: IncomingMessage, tooSlow: () => void): () => void {
    const upload: Upload = { startedAt: this.now(), received: 0, tooSlow };
    const onData = (chunk: Buffer) => (upload.received += chunk.length);
    req.on("data", onData);
    this.uploads.add(upload);
    this.timer ??= setInterval(() => this.check(), this.checkEveryMs).unref();
    return () => {
      req.off("data", onData);
      this.forget(upload);
    };
  }

  private check(): void {
    const now = this.now();
    for (const upload of this.uploads) {
      const owed = ((now - upload.startedAt - this.graceMs) / 1000) * this.minBytesPerSecond;
      if (upload.received < owed) {
        this.forget(upload);
        upload.tooSlow();
      }
    }
  }

  private forget(upload: Upload): void {
    this.uploads.delete(upload);
    if (this.uploads.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
