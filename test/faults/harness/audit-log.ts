import { writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { stringify } from "yaml";

// kube-apiserver's audit log as the suite's witness: it records every write the cluster
// accepted, with who sent it and when, whatever the processes under test believed. Schemas are
// those of audit.k8s.io/v1 (k8s.io/apiserver pkg/apis/audit/v1/types.go at v0.34.4, i.e.
// Kubernetes v1.34).

export const WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection"] as const;

/**
 * The audit Policy: writes to Leases, Istio Sidecars, Namespaces and Events at level Request
 * (metadata and the request's body), nothing else. The first matching rule decides, so the last
 * rule (level None, matching everything) keeps reads, watches and other resources out of the log.
 */
export function auditPolicy(): Record<string, unknown> {
  return {
    apiVersion: "audit.k8s.io/v1",
    kind: "Policy",
    // The suite reads only ResponseComplete: the other stages would double the log.
    omitStages: ["RequestReceived"],
    omitManagedFields: true,
    rules: [
      {
        level: "Request",
        verbs: [...WRITE_VERBS],
        resources: [
          { group: "coordination.k8s.io", resources: ["leases"] },
          { group: "networking.istio.io", resources: ["sidecars"] },
          { group: "", resources: ["namespaces", "events"] },
          { group: "events.k8s.io", resources: ["events"] },
        ],
      },
      { level: "None" },
    ],
  };
}

/** Writes auditPolicy() to PATH for --audit-policy-file. */
export function writeAuditPolicy(path: string): void {
  writeFileSync(path, stringify(auditPolicy()));
}

/** One request, as the audit log's ResponseComplete event tells it. */
export interface AuditRecord {
  readonly auditID: string;
  readonly verb: string;
  readonly user: string;
  readonly userAgent: string;
  /** "" for the core group. */
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string | undefined;
  readonly namespace: string | undefined;
  /** For a create, the name in the request's body. */
  readonly name: string | undefined;
  /** The HTTP status of the response. */
  readonly code: number;
  /** requestReceivedTimestamp, and stageTimestamp (when the response was complete). */
  readonly received: Date;
  readonly completed: Date;
  /** The body sent: an object for create and update; the patch itself for a patch. */
  readonly requestObject: unknown;
}

interface AuditEventJson {
  auditID?: string;
  stage?: string;
  verb?: string;
  user?: { username?: string };
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; subresource?: string };
  responseStatus?: { code?: number };
  requestObject?: unknown;
  requestReceivedTimestamp?: string;
  stageTimestamp?: string;
}

function timestamp(value: string | undefined, field: string, line: number): Date {
  const date = new Date(value ?? "");
  if (Number.isNaN(date.getTime())) throw new Error(`audit log line ${line}: ${field} ${JSON.stringify(value)} is not a time`);
  return date;
}

/**
 * The ResponseComplete events of a JSON-lines audit log (--audit-log-format=json), in the order
 * written. A last line without its newline is one kube-apiserver is still writing, and is left
 * for the next read; any other line that is not JSON is an error.
 */
export function parseAuditLog(text: string): AuditRecord[] {
  const lines = text.split("\n");
  const records: AuditRecord[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === "") return;
    let event: AuditEventJson;
    try {
      event = JSON.parse(line) as AuditEventJson;
    } catch (error) {
      if (index === lines.length - 1) return;
      throw new Error(`audit log line ${index + 1} is not JSON: ${(error as Error).message}`, { cause: error });
    }
    if (event.stage !== "ResponseComplete") return;
    const ref = event.objectRef ?? {};
    records.push({
      auditID: event.auditID ?? "",
      verb: event.verb ?? "",
      user: event.user?.username ?? "",
      userAgent: event.userAgent ?? "",
      apiGroup: ref.apiGroup ?? "",
      resource: ref.resource ?? "",
      subresource: ref.subresource || undefined,
      namespace: ref.namespace || undefined,
      name: ref.name || undefined,
      code: event.responseStatus?.code ?? 0,
      received: timestamp(event.requestReceivedTimestamp, "requestReceivedTimestamp", index + 1),
      completed: timestamp(event.stageTimestamp, "stageTimestamp", index + 1),
      requestObject: event.requestObject,
    });
  });
  return records;
}

/** parseAuditLog of the file at PATH; no records while kube-apiserver has not created it yet. */
export async function readAuditLog(path: string): Promise<AuditRecord[]> {
  try {
    return parseAuditLog(await readFile(path, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

export interface LeadershipQuery {
  readonly leaseNamespace: string;
  readonly leaseName: string;
  /** Which process sent a write, or undefined for one that is not judged (a test's own writes). */
  identityOf(record: AuditRecord): string | undefined;
}

/** A write the cluster accepted from a process that did not hold the Lease throughout it. */
export interface LeadershipOverlap {
  readonly record: AuditRecord;
  readonly identity: string;
  readonly holderAtReceived: string | undefined;
  readonly holderAtCompleted: string | undefined;
}

const isLease = (record: AuditRecord): boolean => record.apiGroup === "coordination.k8s.io" && record.resource === "leases";
const succeeded = (record: AuditRecord): boolean => record.code >= 200 && record.code < 300;
const isWrite = (record: AuditRecord): boolean => (WRITE_VERBS as readonly string[]).includes(record.verb);

type HolderChange = { readonly holder: string | undefined } | "unchanged";

const holderValue = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

/** How a successful write to the Lease left spec.holderIdentity. */
function holderAfter(record: AuditRecord): HolderChange {
  const body = record.requestObject;
  switch (record.verb) {
    case "delete":
    case "deletecollection":
      return { holder: undefined };
    case "create":
    case "update":
      // A whole object: a Lease without holderIdentity is held by no one.
      return { holder: holderValue((body as { spec?: { holderIdentity?: unknown } } | undefined)?.spec?.holderIdentity) };
    case "patch":
      return Array.isArray(body) ? holderAfterJsonPatch(body) : holderAfterMergePatch(body);
    default:
      return "unchanged";
  }
}

/** A JSON Patch (RFC 6902): the last operation that sets or removes holderIdentity wins. */
function holderAfterJsonPatch(operations: unknown[]): HolderChange {
  let change: HolderChange = "unchanged";
  for (const operation of operations as { op?: string; path?: string; value?: unknown }[]) {
    const op = operation?.op;
    if (operation?.path === "/spec/holderIdentity") {
      if (op === "add" || op === "replace") change = { holder: holderValue(operation.value) };
      else if (op === "remove") change = { holder: undefined };
    } else if (operation?.path === "/spec") {
      if (op === "add" || op === "replace") change = { holder: holderValue((operation.value as { holderIdentity?: unknown } | undefined)?.holderIdentity) };
      else if (op === "remove") change = { holder: undefined };
    }
  }
  return change;
}

/** A merge, strategic-merge or apply patch: holderIdentity changes only where the patch names it (null removes). */
function holderAfterMergePatch(patch: unknown): HolderChange {
  if (typeof patch !== "object" || patch === null || !("spec" in patch)) return "unchanged";
  const spec = patch.spec;
  if (spec === null) return { holder: undefined };
  if (typeof spec !== "object" || !("holderIdentity" in spec)) return "unchanged";
  return { holder: holderValue(spec.holderIdentity) };
}

/**
 * Evidence that two processes acted as leader at once: every write the cluster accepted (2xx)
 * from an identified process, at whose received time or whose completed time that process was
 * not the Lease's holder. Writes to Leases are not judged: they are the election itself, which
 * any candidate takes part in.
 *
 * Who held the Lease when is rebuilt from the successful writes to it, each taking effect at its
 * completed time (its commit lies somewhere between received and completed; completed is the
 * latest it can be). Holder is what the write put in spec.holderIdentity, which a holder need
 * not have sent itself. A write whose identity is undefined is not judged.
 */
export function leadershipOverlaps(records: readonly AuditRecord[], lease: LeadershipQuery): LeadershipOverlap[] {
  const isTheLease = (record: AuditRecord) =>
    isLease(record) &&
    record.subresource === undefined &&
    record.namespace === lease.leaseNamespace &&
    (record.name === lease.leaseName || (record.verb === "deletecollection" && record.name === undefined));

  // The holder from each successful Lease write on; sort is stable, so writes completed in the
  // same millisecond keep the log's order, which is the order their responses completed.
  const timeline: { at: number; holder: string | undefined }[] = [];
  let holder: string | undefined;
  for (const record of [...records].filter((r) => isTheLease(r) && succeeded(r) && isWrite(r)).sort((a, b) => a.completed.getTime() - b.completed.getTime())) {
    const change = holderAfter(record);
    if (change !== "unchanged") holder = change.holder;
    timeline.push({ at: record.completed.getTime(), holder });
  }
  const holderAt = (time: Date): string | undefined => {
    let current: string | undefined;
    for (const entry of timeline) {
      if (entry.at > time.getTime()) break;
      current = entry.holder;
    }
    return current;
  };

  const overlaps: LeadershipOverlap[] = [];
  for (const record of records) {
    if (isLease(record) || !succeeded(record) || !isWrite(record)) continue;
    const identity = lease.identityOf(record);
    if (identity === undefined) continue;
    const holderAtReceived = holderAt(record.received);
    const holderAtCompleted = holderAt(record.completed);
    if (holderAtReceived !== identity || holderAtCompleted !== identity) overlaps.push({ record, identity, holderAtReceived, holderAtCompleted });
  }
  return overlaps;
}
