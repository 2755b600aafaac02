import { open } from "node:fs/promises";
import { loadPolicy, MAX_POLICY_BYTES, PolicyError, type CompiledPolicy } from "./load.js";

/**
 * A policy file's text, refused unread when it is over MAX_POLICY_BYTES. Every way a policy is
 * read (serve, inject --config, policy validate) goes through here.
 */
export async function readPolicyText(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw new PolicyError(path, [`cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_POLICY_BYTES) throw new PolicyError(path, [`the file is ${size} bytes, over the ${MAX_POLICY_BYTES}-byte limit (a ConfigMap holds at most 1 MiB)`]);
    return await handle.readFile("utf8");
  } catch (error) {
    if (error instanceof PolicyError) throw error;
    throw new PolicyError(path, [`cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  } finally {
    await handle.close();
  }
}

/** Reads, parses and validates a policy file; throws PolicyError saying what to fix. */
export async function readPolicyFile(path: string): Promise<CompiledPolicy> {
  return loadPolicy(await readPolicyText(path), path);
}
