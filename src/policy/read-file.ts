import { readFailure, readFileBounded, TooLargeError } from "../util/bounded-read.js";
import { loadPolicy, MAX_POLICY_BYTES, PolicyError, type CompiledPolicy } from "./load.js";

/**
 * A policy file's text, refused unread when it is over MAX_POLICY_BYTES. Every way a policy is
 * read (serve, inject --config, policy validate) goes through here.
 */
export async function readPolicyText(path: string): Promise<string> {
  try {
    return (await readFileBounded(path, MAX_POLICY_BYTES)).toString("utf8");
  } catch (error) {
    if (error instanceof TooLargeError)
      throw new PolicyError(path, [`the file is ${error.size} bytes, over the ${error.limit}-byte limit (a ConfigMap holds at most 1 MiB)`]);
    throw new PolicyError(path, [`cannot read the file (${readFailure(error)})`]);
  }
}

/** Reads, parses and validates a policy file; throws PolicyError saying what to fix. */
export async function readPolicyFile(path: string): Promise<CompiledPolicy> {
  return loadPolicy(await readPolicyText(path), path);
}
