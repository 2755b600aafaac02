import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { chmod, link, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, rmdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

// A set of files written all at once or not at all, the way the kubelet updates a Secret volume:
//
//   DIR/..data -> ..v-<time>-<random>        the set in force: one symlink, switched by rename(2)
//   DIR/..v-<time>-<random>/<the files>       a complete version, never changed once in force
//   DIR/<top-level name> -> ..data/<name>     what readers open, through ..data
//
// A run builds a whole new version (files flushed to disk, the old files hard-linked in), then
// switches ..data with one rename. Killed at any point, DIR shows the whole old set or the whole
// new one; what an interrupted run left behind (a version not in force) is removed by the next.
// One run at a time: DIR/..lock is made with mkdir (atomic) and names its owner's pid.

export interface FileToWrite {
  /** Relative to the set's directory, e.g. "east/ca-key.pem". */
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

/** Another run holds the directory, or it cannot be written as a file set; the message says which. */
export class FileSetError extends Error {
  override readonly name = "FileSetError";
}

const DATA = "..data";
const LOCK = "..lock";
const VERSION_PREFIX = "..v-";
const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;
const topLevel = (path: string): string => path.split("/")[0]!;

/** Which of these relative paths exist in DIR. A link into a version that lacks the file dangles: absent. */
export function existingInSet(dir: string, paths: readonly string[]): string[] {
  return paths.filter((path) => {
    try {
      statSync(join(dir, path));
      return true;
    } catch {
      return false;
    }
  });
}

export interface WriteOptions {
  /** Replace files that exist; without it an existing file is a FileExistsError and nothing is written. */
  readonly force?: boolean;
  /** The new version holds only FILES: the old set's other files are not carried over. */
  readonly fresh?: boolean;
}

/**
 * Writes the files PRODUCE makes into the set in DIR, all or none, keeping every other file of
 * the set (unless `fresh`), and returns what PRODUCE returned. PRODUCE is called once the
 * directory is locked and checked, so slow work (generating keys) is never done for a write that
 * cannot happen.
 */
export async function updateFileSet<T extends { readonly files: readonly FileToWrite[] }>(
  dir: string,
  planned: readonly string[],
  options: WriteOptions,
  produce: () => Promise<T>,
): Promise<T> {
  const createdDir = await ensureDirectory(dir);
  let locked = false;
  try {
    await acquireLock(dir);
    locked = true;
    await removeLeftovers(dir);
    const current = await currentVersion(dir);
    const clash = existingInSet(dir, planned);
    if (clash.length > 0 && !options.force) throw new FileExistsError(clash.map((p) => join(dir, p)));
    await refusePlainEntries(dir, planned);
    const made = await produce();
    await writeVersion(dir, options.fresh ? undefined : current, made.files, current);
    return made;
  } catch (error) {
    if (locked) await releaseLock(dir);
    locked = false;
    if (createdDir) await rmdir(dir).catch(() => undefined); // only if still empty
    throw error;
  } finally {
    if (locked) await releaseLock(dir);
  }
}

/** Creates DIR (0700) if needed; true when this call created it. */
async function ensureDirectory(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { mode: 0o700 });
    return true;
  } catch (error) {
    if (errno(error) === "EEXIST") return false;
    if (errno(error) === "ENOENT") {
      await mkdir(dirname(dir), { recursive: true, mode: 0o700 });
      return ensureDirectory(dir);
    }
    throw error;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === "EPERM";
  }
}

async function acquireLock(dir: string, retried = false): Promise<void> {
  const lock = join(dir, LOCK);
  try {
    await mkdir(lock, { mode: 0o700 });
  } catch (error) {
    if (errno(error) !== "EEXIST") throw error;
    const owner = Number(await readFile(join(lock, "pid"), "utf8").catch(() => ""));
    // A lock whose owner is gone (killed mid-run) is taken over; a lock with no pid yet may be
    // one being made this instant, so it counts as held.
    if (!retried && Number.isInteger(owner) && owner > 0 && !processAlive(owner)) {
      await rm(lock, { recursive: true, force: true });
      return acquireLock(dir, true);
    }
    throw new FileSetError(`another mesh-tailor certs run${owner > 0 ? ` (pid ${owner})` : ""} is writing ${dir}; let it finish, then run again`);
  }
  await writeFile(join(lock, "pid"), String(process.pid), { mode: 0o600 });
}

async function releaseLock(dir: string): Promise<void> {
  await rm(join(dir, LOCK), { recursive: true, force: true });
}

async function currentVersion(dir: string): Promise<string | undefined> {
  try {
    return await readlink(join(dir, DATA));
  } catch (error) {
    if (errno(error) === "ENOENT") return undefined;
    throw error;
  }
}

/** Versions not in force and temporary links: what a killed run leaves. Only called under the lock. */
async function removeLeftovers(dir: string): Promise<void> {
  const inForce = await currentVersion(dir);
  for (const entry of await readdir(dir)) {
    if ((entry.startsWith(VERSION_PREFIX) && entry !== inForce) || entry.startsWith(`${DATA}.tmp-`)) {
      await rm(join(dir, entry), { recursive: true, force: true });
    }
  }
}

/** A top-level name held by a plain file or directory (written some other way) is never replaced. */
async function refusePlainEntries(dir: string, planned: readonly string[]): Promise<void> {
  for (const name of new Set(planned.map(topLevel))) {
    const stats = await lstat(join(dir, name)).catch(() => undefined);
    if (stats && !stats.isSymbolicLink()) {
      throw new FileSetError(
        `${join(dir, name)} was not written by mesh-tailor certs (it is a plain ${stats.isDirectory() ? "directory" : "file"}); move it away, it is left as it is, and run again`,
      );
    }
  }
}

async function filesOf(root: string, under = ""): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(join(root, under), { withFileTypes: true })) {
    const path = under ? `${under}/${entry.name}` : entry.name;
    if (entry.isDirectory()) found.push(...(await filesOf(root, path)));
    else found.push(path);
  }
  return found;
}

async function writeFlushed(path: string, content: string, mode: number): Promise<void> {
  const handle = await open(path, "wx", mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(path, mode); // the umask may have narrowed or widened it
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes FILES, plus the files of version KEEP that they do not replace, as a new version in force; REPLACED is removed after. */
async function writeVersion(dir: string, keep: string | undefined, files: readonly FileToWrite[], replaced: string | undefined): Promise<void> {
  const version = `${VERSION_PREFIX}${new Date().toISOString().replace(/[:.]/g, "")}-${randomBytes(4).toString("hex")}`;
  const versionDir = join(dir, version);
  const written = new Set(files.map((f) => f.path));
  const createdLinks: string[] = [];
  await mkdir(versionDir, { mode: 0o700 });
  try {
    // The old set's files that stay, hard-linked: same bytes and mode, no copy.
    if (keep) {
      for (const path of await filesOf(join(dir, keep))) {
        if (written.has(path)) continue;
        await mkdir(dirname(join(versionDir, path)), { recursive: true, mode: 0o700 });
        await link(join(dir, keep, path), join(versionDir, path));
      }
    }
    for (const file of files) {
      await mkdir(dirname(join(versionDir, file.path)), { recursive: true, mode: 0o700 });
      await writeFlushed(join(versionDir, file.path), file.content, file.mode);
    }
    for (const sub of new Set(files.map((f) => dirname(f.path)).filter((d) => d !== "."))) await syncDirectory(join(versionDir, sub));
    await syncDirectory(versionDir);
    // Top-level links, made before the switch: until then they dangle, which reads as absent.
    for (const name of new Set(files.map((f) => topLevel(f.path)))) {
      const target = `${DATA}/${name}`;
      const stats = await lstat(join(dir, name)).catch(() => undefined);
      if (stats?.isSymbolicLink() && (await readlink(join(dir, name))) === target) continue;
      const temporary = join(dir, `${DATA}.tmp-${randomBytes(4).toString("hex")}`);
      await symlink(target, temporary);
      await rename(temporary, join(dir, name));
      createdLinks.push(name);
    }
    const temporary = join(dir, `${DATA}.tmp-${randomBytes(4).toString("hex")}`);
    await symlink(version, temporary);
    await rename(temporary, join(dir, DATA)); // the switch: the whole new set, at once
    await syncDirectory(dir);
  } catch (error) {
    await rm(versionDir, { recursive: true, force: true });
    for (const name of createdLinks) await rm(join(dir, name), { force: true });
    throw error;
  }
  if (!replaced) return;
  // Names the new set no longer has: their links now dangle; remove them, then the old version.
  const names = new Set(await readdir(versionDir));
  for (const name of await readdir(join(dir, replaced))) {
    if (names.has(name)) continue;
    const stats = await lstat(join(dir, name)).catch(() => undefined);
    if (stats?.isSymbolicLink() && (await readlink(join(dir, name))) === `${DATA}/${name}`) await rm(join(dir, name), { force: true });
  }
  await rm(join(dir, replaced), { recursive: true, force: true });
}
