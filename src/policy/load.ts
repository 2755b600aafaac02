import { createHash } from "node:crypto";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { firstDuplicateKey } from "../util/yaml-keys.js";
import { DEFAULT_POLICY_YAML } from "./default-policy.js";
import { policySchema, type TailorPolicy } from "./schema.js";
import { ServiceIndex } from "./service-index.js";
import { yamlErrorText } from "../util/yaml-error.js";

/** A validated policy, with what the hot path needs precomputed. */
export interface CompiledPolicy {
  readonly policy: TailorPolicy;
  readonly services: ServiceIndex;
  /** The named groups of sandbox.namespacePattern in NAMESPACE, when it matches. */
  readonly sandboxGroups: (namespace: string) => Readonly<Record<string, string>> | undefined;
  /** Short content hash, logged so an operator can tell which policy decided. */
  readonly revision: string;
  readonly source: string;
}

export class PolicyError extends Error {
  constructor(
    readonly origin: string,
    readonly problems: readonly string[],
    /** What to do about it, where the place it was read from says more than the problems. */
    readonly hint?: string,
  ) {
    super(`${origin}: invalid policy:\n${problems.map((p) => `  - ${p}`).join("\n")}${hint ? `\n${hint}` : ""}`);
    this.name = "PolicyError";
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(top level)";
  return path.map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`)).join("");
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      return `${formatPath(issue.path)}: unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")} (check the spelling against \`mesh-tailor policy default\`)`;
    }
    // A record key's own reasons come wrapped; say them, not "Invalid key in record".
    if (issue.code === "invalid_key") return `${formatPath(issue.path)}: ${issue.issues.map((inner) => inner.message).join("; ")}`;
    return `${formatPath(issue.path)}: ${issue.message}`;
  });
}

const shortHash = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 12);

// Every namespace is a DNS label, 63 characters at most; pattern-check.ts bounds the pattern's cost
// for names that long, so no longer string (a forged AdmissionReview's) is ever tried.
const MAX_NAMESPACE_LENGTH = 63;

function sandboxMatcher(source: string): CompiledPolicy["sandboxGroups"] {
  const pattern = new RegExp(source);
  return (namespace) => (namespace.length <= MAX_NAMESPACE_LENGTH ? pattern.exec(namespace)?.groups : undefined);
}

export function compilePolicy(policy: TailorPolicy, source: string): CompiledPolicy {
  return {
    policy,
    services: new ServiceIndex(policy.services),
    sandboxGroups: sandboxMatcher(policy.sandbox.namespacePattern),
    revision: shortHash(source),
    source,
  };
}

/**
 * The largest policy mesh-tailor reads: a ConfigMap holds at most 1 MiB, and YAML parsing costs
 * about a second per megabyte.
 */
export const MAX_POLICY_BYTES = 1024 * 1024;

/** Parses and validates policy YAML (or JSON); throws PolicyError naming every bad field. */
export function loadPolicy(text: string, origin = "policy"): CompiledPolicy {
  return compilePolicy(validatePolicy(text, origin), text);
}

/** Parsing and validation alone: plain data, so a worker thread can do it (see load-off-thread.ts). */
export function validatePolicy(text: string, origin = "policy"): TailorPolicy {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_POLICY_BYTES)
    throw new PolicyError(origin, [`the policy is ${bytes} bytes, over the ${MAX_POLICY_BYTES}-byte limit (a ConfigMap holds at most 1 MiB)`]);
  const lines = new LineCounter();
  const parsed = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter: lines });
  const error = parsed.errors[0];
  if (error) {
    const where = error.linePos ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : "";
    throw new PolicyError(origin, [`not valid YAML${where}: ${yamlErrorText(error.message)}`]);
  }
  const duplicate = firstDuplicateKey(parsed, lines);
  if (duplicate) throw new PolicyError(origin, [`not valid YAML at ${duplicate}`]);
  let document: unknown;
  try {
    document = parsed.toJS();
  } catch (cause) {
    throw new PolicyError(origin, [`not valid YAML: ${yamlErrorText((cause as Error).message)}`]);
  }
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    throw new PolicyError(origin, ["the document must be a mapping with apiVersion: mesh-tailor.io/v1alpha1 and kind: TailorPolicy"]);
  }
  const result = policySchema.safeParse(document);
  if (!result.success) throw new PolicyError(origin, describeIssues(result.error.issues));
  return result.data;
}

export function builtInPolicy(): CompiledPolicy {
  return loadPolicy(DEFAULT_POLICY_YAML, "built-in policy");
}
