import { open } from "node:fs/promises";

/** A file over the size its reader accepts; it was not read. */
export class TooLargeError extends Error {
  constructor(
    readonly path: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`${path} is ${size} bytes, over the ${limit}-byte limit`);
    this.name = "TooLargeError";
  }
}

/** A file's bytes, or TooLargeError without reading it when it is over MAX_BYTES. */
export async function readFileBounded(path: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw new TooLargeError(path, size, maxBytes);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** The code of a file-system error (ENOENT, EACCES ...), else its message: what a "cannot read" says. */
export const readFailure = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error as Error).message;
