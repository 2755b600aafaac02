import { createHash } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { dirname } from "node:path";
import { readFileBounded } from "./bounded-read.js";

export type FileSetRead = { ok: true; contents: Buffer[] } | { ok: false; error: Error };

export interface FileSetWatcherOptions {
  /** Poll period; catches what watch misses (network filesystems, some symlink swaps). */
  readonly pollMs?: number;
  /** Events arrive in bursts during a swap: wait this long for the burst to end. */
  readonly debounceMs?: number;
  /** A file larger than this is reported as an error, unread. */
  readonly maxBytes?: number;
}

/**
 * Reports when the content of a set of files changes, the way Kubernetes updates a mounted
 * Secret or ConfigMap: it swaps a `..data` symlink in the directory, so the directory is watched
 * (a watch on the file itself would follow the old inode), and polled as well.
 * The callback runs once per distinct state, a broken one included, never on an unchanged one.
 */
export class FileSetWatcher {
  private readonly watchers: FSWatcher[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private lastFingerprint: string | undefined;
  private checking: Promise<void> = Promise.resolve();

  constructor(
    private readonly paths: readonly string[],
    private readonly onChange: (read: FileSetRead) => void | Promise<void>,
    private readonly options: FileSetWatcherOptions = {},
  ) {}

  /** Starts watching; `initial` is the content already in use, so it is not reported again. */
  start(initial: readonly Buffer[]): void {
    this.lastFingerprint = fingerprint({ ok: true, contents: [...initial] });
    for (const directory of new Set(this.paths.map((p) => dirname(p)))) {
      try {
        const watcher = watch(directory, { persistent: false }, () => this.schedule());
        watcher.on("error", () => undefined); // the poll still covers this directory
        this.watchers.push(watcher);
      } catch {
        // The directory may not exist yet; the poll will notice when it does.
      }
    }
    this.pollTimer = setInterval(() => this.schedule(), this.options.pollMs ?? 10_000);
    this.pollTimer.unref();
  }

  /** Reads the files now and reports if they changed; resolves when the change has been handled. */
  check(): Promise<void> {
    this.checking = this.checking
      .then(async () => {
        const read = await readAll(this.paths, this.options.maxBytes ?? Number.MAX_SAFE_INTEGER);
        const print = fingerprint(read);
        if (print === this.lastFingerprint) return;
        this.lastFingerprint = print;
        await this.onChange(read);
      })
      .catch(() => undefined); // a failing handler must not stop later checks

    return this.checking;
  }

  close(): void {
    for (const watcher of this.watchers) watcher.close();
    this.watchers.length = 0;
    clearInterval(this.pollTimer);
    clearTimeout(this.debounceTimer);
  }

  private schedule(): void {
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => void this.check(), this.options.debounceMs ?? 100);
    this.debounceTimer.unref();
  }
}

async function readAll(paths: readonly string[], maxBytes: number): Promise<FileSetRead> {
  try {
    return { ok: true, contents: await Promise.all(paths.map((p) => readFileBounded(p, maxBytes))) };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

function fingerprint(read: FileSetRead): string {
  const hash = createHash("sha256");
  if (read.ok) for (const content of read.contents) hash.update(content).update("\0");
  else hash.update(`error:${read.error.message}`);
  return hash.digest("hex");
}
