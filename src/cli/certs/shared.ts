import { relative } from "node:path";
import { isDns1123Label } from "../../pod/k8s-names.js";
import { FileExistsError, FileSetError, updateFileSet, type FileToWrite } from "../../util/atomic-file-set.js";
import { positiveInteger, UsageError, WorkError, write } from "../command.js";

export const KEY_SIZES = [2048, 3072, 4096] as const;

export function keySize(value: string | undefined, fallback: number): number {
  const bits = positiveInteger("--key-size", value, fallback);
  if (!(KEY_SIZES as readonly number[]).includes(bits)) throw new UsageError(`--key-size must be 2048, 3072 or 4096, got ${bits}`);
  return bits;
}

export function dnsLabel(flag: string, value: string | undefined): string {
  if (!value) throw new UsageError(`${flag} is required`);
  if (!isDns1123Label(value))
    throw new UsageError(
      `${flag} "${value}" must be a DNS-1123 label: lower-case letters, digits and "-", at most 63, starting and ending with a letter or digit`,
    );
  return value;
}

export function requiredDir(value: string | undefined): string {
  if (!value) throw new UsageError("--out DIR is required");
  return value;
}

/**
 * Writes the files PRODUCE makes (absolute paths) into DIR as one set, and returns what it made: all or none, even when killed, and never
 * two runs at once. PLANNED (absolute paths) are checked first, so an existing key or certificate
 * is refused (without --force) before any key is generated; the error says what to do.
 */
export async function writeCertificateSet<T extends { readonly files: readonly FileToWrite[] }>(
  dir: string,
  planned: readonly string[],
  options: { force: boolean; fresh?: boolean },
  why: string,
  produce: () => Promise<T>,
): Promise<T> {
  const inDir = (path: string): string => relative(dir, path);
  try {
    const made = await updateFileSet(dir, planned.map(inDir), options, async () => {
      const produced = await produce();
      return { produced, files: produced.files.map((file) => ({ ...file, path: inDir(file.path) })) };
    });
    return made.produced;
  } catch (error) {
    if (error instanceof FileExistsError) throw new WorkError(`${error.message}. ${why} Nothing was written.`);
    if (error instanceof FileSetError) throw new WorkError(`${error.message}. Nothing was written.`);
    if (error instanceof WorkError || error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new WorkError(`writing ${dir} failed (${code ? `${code}: ` : ""}${(error as Error).message}); nothing was replaced`);
  }
}

export function listWritten(stream: NodeJS.WritableStream, files: readonly FileToWrite[]): void {
  for (const file of files) write(stream, `  ${(file.mode & 0o777).toString(8).padStart(4, "0")}  ${file.path}`);
}
