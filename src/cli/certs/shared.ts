import { join } from "node:path";
import { isDns1123Label } from "../../pod/k8s-names.js";
import { existing, FileExistsError, writeFilesAtomically, type FileToWrite } from "../../util/atomic-files.js";
import { positiveInteger, UsageError, WorkError, write } from "../command.js";

export const KEY_SIZES = [2048, 3072, 4096] as const;

export function keySize(value: string | undefined, fallback: number): number {
  const bits = positiveInteger("--key-size", value, fallback);
  if (!(KEY_SIZES as readonly number[]).includes(bits)) throw new UsageError(`--key-size must be 2048, 3072 or 4096, got ${bits}`);
  return bits;
}

export function dnsLabel(flag: string, value: string | undefined): string {
  if (!value) throw new UsageError(`${flag} is required`);
  if (!isDns1123Label(value)) throw new UsageError(`${flag} "${value}" must be a DNS-1123 label: lower-case letters, digits and "-", at most 63, starting and ending with a letter or digit`);
  return value;
}

export function requiredDir(value: string | undefined): string {
  if (!value) throw new UsageError("--out DIR is required");
  return value;
}

/** Writes all files or none; an existing file without --force is a refusal that names it. */
export async function writeAll(files: readonly FileToWrite[], force: boolean, why: string): Promise<void> {
  try {
    await writeFilesAtomically(files, { force });
  } catch (error) {
    if (error instanceof FileExistsError) throw new WorkError(`${error.message}. ${why} Nothing was written.`);
    throw new WorkError(`writing failed, nothing was replaced: ${(error as Error).message}`);
  }
}

export function listWritten(stream: NodeJS.WritableStream, files: readonly FileToWrite[]): void {
  for (const file of files) write(stream, `  ${(file.mode & 0o777).toString(8).padStart(4, "0")}  ${file.path}`);
}

export const clusterDir = (dir: string, cluster: string): string => join(dir, cluster);

/** Refuses before any key is generated when a file to be written already exists. */
export function refuseExisting(paths: readonly string[], force: boolean, why: string): void {
  if (force) return;
  const clash = existing(paths);
  if (clash.length > 0) throw new WorkError(`${new FileExistsError(clash).message}. ${why} Nothing was written.`);
}
