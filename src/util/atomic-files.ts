import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";

export interface FileToWrite {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

export class FileExistsError extends Error {
  constructor(readonly paths: readonly string[]) {
    super(`${paths.length === 1 ? "file exists" : "files exist"}: ${paths.join(", ")}`);
    this.name = "FileExistsError";
  }
}

/** The paths among these that already exist. */
export const existing = (paths: readonly string[]): string[] => paths.filter((p) => existsSync(p));

/**
 * Writes every file or none: refuses up front if any exists (unless `force`), creates directories
 * 0700, writes each to a temporary file beside it (flushed to disk, with its final mode), and
 * only then renames them all into place. A crash leaves temporary files, never a half-written key.
 */
export async function writeFilesAtomically(files: readonly FileToWrite[], options: { force?: boolean } = {}): Promise<void> {
  if (!options.force) {
    const clash = existing(files.map((f) => f.path));
    if (clash.length > 0) throw new FileExistsError(clash);
  }
  const staged: { temporary: string; path: string }[] = [];
  try {
    for (const file of files) {
      await mkdir(dirname(file.path), { recursive: true, mode: 0o700 });
      const temporary = `${file.path}.tmp-${randomBytes(6).toString("hex")}`;
      const handle = await open(temporary, "wx", file.mode);
      try {
        await handle.writeFile(file.content);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await chmod(temporary, file.mode); // the umask may have narrowed or widened it
      staged.push({ temporary, path: file.path });
    }
  } catch (error) {
    await Promise.all(staged.map((s) => rm(s.temporary, { force: true })));
    throw error;
  }
  for (const { temporary, path } of staged) await rename(temporary, path);
}
