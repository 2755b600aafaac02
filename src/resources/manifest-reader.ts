import { LineCounter, parseAllDocuments } from "yaml";
import { readFailure, readFileBounded, TooLargeError } from "../util/bounded-read.js";
import { firstDuplicateKey } from "../util/yaml-keys.js";
import { yamlErrorText } from "../util/yaml-error.js";

/** Input `inject` cannot use: unreadable, too large, or not YAML/JSON (naming the document, line and column). */
export class ManifestError extends Error {
  constructor(
    readonly origin: string,
    readonly problem: string,
  ) {
    super(`${origin}: ${problem}`);
    this.name = "ManifestError";
  }
}

/**
 * The most input `inject` reads. YAML parsing here costs about 2 s and 50 MB per MiB, so 8 MiB
 * (thousands of Deployments) stays within a minute and a few hundred MB; larger input can be
 * split and piped through in parts.
 */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
/** Aliases are expanded when documents become objects: at most 100 per document, as Kubernetes' own YAML reader bounds them. */
const MAX_ALIAS_COUNT = 100;
/** The expanded documents may be at most this many times the input (plus 1 MiB): past it, aliases are multiplying it. */
const MAX_EXPANSION = 4;

const tooLarge = (origin: string, size: number): ManifestError =>
  new ManifestError(origin, `it is ${size} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit; split it and run inject on each part`);

/** Reads a file, or standard input for "-", refusing more than MAX_MANIFEST_BYTES. */
export async function readManifestText(file: string, stdin: NodeJS.ReadableStream, origin: string): Promise<string> {
  if (file === "-") {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stdin) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += buffer.length;
      if (size > MAX_MANIFEST_BYTES) throw tooLarge(origin, size);
      chunks.push(buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return (await readFileBounded(file, MAX_MANIFEST_BYTES)).toString("utf8");
  } catch (error) {
    if (error instanceof TooLargeError) throw tooLarge(origin, error.size);
    throw new ManifestError(origin, `cannot read it (${readFailure(error)})`);
  }
}

/** Every YAML (or JSON) document as a plain value; throws ManifestError naming the first bad one. */
export function parseManifests(text: string, origin: string): unknown[] {
  const lines = new LineCounter();
  const documents = parseAllDocuments(text, { uniqueKeys: false, lineCounter: lines });
  const list = Array.isArray(documents) ? documents : [documents];
  const budget = MAX_EXPANSION * text.length + 1024 * 1024;
  let expanded = 0;
  return list.map((document, index) => {
    const error = document.errors[0];
    if (error) {
      const where = error.linePos ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : "unknown position";
      throw new ManifestError(origin, `not a valid manifest: document ${index + 1}, ${where}: ${yamlErrorText(error.message)}`);
    }
    const duplicate = firstDuplicateKey(document, lines);
    if (duplicate) throw new ManifestError(origin, `not a valid manifest: document ${index + 1}, ${duplicate}`);
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (cause) {
      throw new ManifestError(origin, `not a valid manifest: document ${index + 1}: ${yamlErrorText((cause as Error).message)}`);
    }
    expanded += JSON.stringify(value ?? null).length;
    if (expanded > budget) {
      throw new ManifestError(
        origin,
        `document ${index + 1}: its aliases expand the input past ${MAX_EXPANSION} times its size; expand them in the source (e.g. yq 'explode(.)')`,
      );
    }
    return value;
  });
}
