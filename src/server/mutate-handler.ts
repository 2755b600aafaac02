import type { IncomingMessage, ServerResponse } from "node:http";
import contentType from "content-type";
import getRawBody from "raw-body";
import { decodeAdmissionReview } from "../admission/decode.js";
import { handleAdmission } from "../admission/handler.js";
import { allowed, review } from "../admission/response.js";
import type { AdmissionReview } from "../admission/types.js";
import type { Logger } from "../logging/logger.js";
import type { CompiledPolicy } from "../policy/load.js";
import { truncate } from "../util/describe-value.js";
import { BodyBudget } from "./body-budget.js";
import { DEFAULT_LIMITS, type ServerLimits } from "./limits.js";
import type { Metrics, RequestOutcome } from "./metrics.js";
import { UploadPace } from "./upload-pace.js";

// A log field copied from a request is cut here: one request must not write a megabyte of log.
const LOG_FIELD_LIMIT = 256;
// The warnings an admission logs: their text says what was overridden or declined, and why.
const LOG_WARNINGS = 10;
const logField = (value: unknown): string | undefined => (typeof value === "string" ? truncate(value, LOG_FIELD_LIMIT) : undefined);

export interface MutateOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The policy in force now; it may change between requests (hot reload). */
  readonly currentPolicy: () => CompiledPolicy;
  /** The body bounds of ServerLimits; DEFAULT_LIMITS for any not given. */
  readonly limits?: Partial<ServerLimits> | undefined;
  /** Called when a body arriving too slowly is cut (its connection is closed), with the client's address. */
  readonly onSlowBody?: ((address: string) => void) | undefined;
}

/** The one log line each AdmissionReview gets. */
export interface AdmissionLog {
  uid: string;
  namespace?: string | undefined;
  workload?: string | undefined;
  service?: string | undefined;
  operation?: string | undefined;
  dryRun?: boolean | undefined;
  outcome: RequestOutcome;
  reason?: string | undefined;
  mutations?: readonly string[] | undefined;
  /** Their text, each cut to LOG_FIELD_LIMIT, at most LOG_WARNINGS of them (and how many more). */
  warnings?: readonly string[] | undefined;
  durationMs: number;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": body.length });
  res.end(body);
}

/** raw-body's errors carry a 4xx status and a type; say what to fix. */
function bodyErrorMessage(error: { type?: string; message?: string }, limit: number): string {
  if (error.type === "entity.too.large") return `request body is larger than the ${limit}-byte limit`;
  if (error.type === "request.aborted") return "request aborted by the client";
  return String(error.message ?? "bad request body");
}

/**
 * POST /mutate as a plain Node request handler. It is on the path of every pod creation, so it
 * skips the per-request work a general web framework does (routing, request decoration,
 * per-request child loggers): read the body with a limit, parse it once, answer, log one line.
 */
export function createMutateHandler(options: MutateOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, metrics } = options;
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const limit = limits.bodyBytes;
  const budget = new BodyBudget(limits.bufferedBodiesBytes, limits.bufferedBodiesPerAddressBytes);
  const pace = new UploadPace(limits.minBodyBytesPerSecond, limits.minBodyGraceMs);

  const finish = (res: ServerResponse, status: number, value: unknown, log: AdmissionLog) => {
    sendJson(res, status, value);
    const level = status >= 500 ? "error" : status >= 400 ? "warn" : "info";
    logger[level]({ admission: log, res: { statusCode: status } }, "admission");
  };
  const refuse = (res: ServerResponse, status: number, message: string, startedAt: bigint) => {
    metrics.requests.labels("bad_request").inc();
    finish(res, status, { error: message, status }, { uid: "", outcome: "bad_request", reason: logField(message), durationMs: elapsedMs(startedAt) });
  };

  return (req, res) => {
    const startedAt = process.hrtime.bigint();
    const unacceptable = unacceptableHeaders(req);
    if (unacceptable) {
      req.resume();
      refuse(res, 415, unacceptable, startedAt);
      return;
    }
    // Each body reserves what it may hold until it is parsed, so stalled uploads cannot add up,
    // and one client's, however many, leave the rest to the others.
    const address = (req.socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
    const declared = Number(req.headers["content-length"]);
    const reserved = Number.isSafeInteger(declared) && declared >= 0 && declared <= limit ? declared : limit;
    const release = budget.reserve(address, reserved);
    if (typeof release !== "function") {
      req.resume();
      res.setHeader("Retry-After", "1");
      metrics.bodiesRefused.labels(release === "address" ? "address_budget" : "budget").inc();
      const held = release === "address" ? `this client's uploads hold ${budget.heldBy(address)} bytes` : `${budget.heldBy()} bytes are held`;
      refuse(res, 429, `too many request bodies are being received at once (${held}); retry`, startedAt);
      return;
    }
    // Exactly one answer, whichever comes first: the body, its error, or its being too slow.
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      release();
      stopPacing();
      return true;
    };
    const stopPacing = pace.watch(req, () => {
      if (!settle()) return;
      metrics.bodiesRefused.labels("too_slow").inc();
      options.onSlowBody?.(address);
      res.setHeader("Connection", "close");
      refuse(res, 408, `request body arrived slower than ${limits.minBodyBytesPerSecond} bytes/s; send it at once`, startedAt);
      // The rest of the body will not be read: the connection cannot serve another request.
      res.once("finish", () => req.socket.destroy());
    });
    getRawBody(req, { limit, length: req.headers["content-length"], encoding: "utf-8" })
      .then(
        (text) => {
          if (!settle()) return;
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch (error) {
            refuse(res, 400, `request body is not valid JSON: ${(error as Error).message}`, startedAt);
            return;
          }
          answer(res, body, startedAt);
        },
        (error: { status?: number; type?: string; message?: string }) => {
          if (!settle()) return;
          if (error.type === "entity.too.large") {
            metrics.bodiesRefused.labels("too_large").inc();
            discardRest(req, limits.discardAfterRefusalBytes);
          }
          const status = typeof error.status === "number" && error.status >= 400 && error.status < 500 ? error.status : 400;
          refuse(res, status, bodyErrorMessage(error, limit), startedAt);
        },
      )
      .catch((error: unknown) => {
        settle();
        // A bug past every guard above: report it, never let it take the process down.
        metrics.handlerPanics.inc();
        logger.error({ err: error }, "admission request failed");
        if (!res.headersSent) sendJson(res, 500, { error: "internal error", status: 500 });
        else res.destroy();
      });
  };

  function answer(res: ServerResponse, body: unknown, startedAt: bigint): void {
    metrics.inFlight.inc();
    try {
      const decoded = decodeAdmissionReview(body);
      if (!decoded.ok) {
        refuse(res, 400, decoded.message, startedAt);
        return;
      }
      const { request, version } = decoded;
      const log: AdmissionLog = {
        uid: request.uid,
        namespace: logField(request.namespace),
        operation: logField(request.operation),
        dryRun: request.dryRun === true,
        outcome: "allowed",
        durationMs: 0,
      };
      let outcome: RequestOutcome;
      let reply: AdmissionReview;
      try {
        const handled = handleAdmission(request, options.currentPolicy());
        outcome = handled.outcome;
        reply = review(version, handled.response);
        const summary = handled.summary;
        if (summary) {
          log.workload = logField(summary.workload);
          log.service = logField(summary.service);
          log.mutations = summary.applied;
          if (summary.warnings.length > 0) {
            log.warnings = summary.warnings.slice(0, LOG_WARNINGS).map((w) => truncate(w, LOG_FIELD_LIMIT));
            if (summary.warnings.length > LOG_WARNINGS) log.warnings = [...log.warnings, `and ${summary.warnings.length - LOG_WARNINGS} more`];
          }
          for (const name of summary.applied) metrics.mutationsApplied.labels(name).inc();
          for (const failure of summary.failures) {
            metrics.mutationFailures.labels(failure.mutation).inc();
            logger.error({ err: failure.error, uid: request.uid, mutation: failure.mutation }, "customization failed; admitted without it");
          }
        }
        log.reason = logField(handled.reason);
      } catch (error) {
        // Never fail a pod because of a bug here: admit it as it came, and say so.
        outcome = "error";
        metrics.handlerPanics.inc();
        logger.error({ err: error, uid: request.uid }, "admission handler failed; admitted unchanged");
        reply = review(version, allowed(request.uid, [`mesh-tailor: internal error, pod admitted without customization (${(error as Error).message})`]));
      }
      log.outcome = outcome;
      log.durationMs = elapsedMs(startedAt);
      metrics.requests.labels(outcome).inc();
      metrics.duration.labels(outcome).observe(log.durationMs / 1000);
      finish(res, 200, reply, log);
    } finally {
      metrics.inFlight.dec();
    }
  }
}

/**
 * After a body over the limit has been refused, reads and drops what is still arriving, so the
 * client gets its 413 and the connection serves its next request; past a bound, it is closed.
 */
function discardRest(req: IncomingMessage, limit: number): void {
  let discarded = 0;
  req.on("data", (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > limit) req.socket.destroy();
  });
  req.resume();
}

/**
 * Why the request's headers rule it out, if they do: kube-apiserver sends AdmissionReviews as
 * uncompressed UTF-8 application/json, so anything else is not from it. One parse of
 * Content-Type answers both the media type and the charset.
 */
function unacceptableHeaders(req: IncomingMessage): string | undefined {
  const header = req.headers["content-type"];
  let parsed: contentType.ParsedMediaType | undefined;
  try {
    parsed = header ? contentType.parse(header) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed?.type !== "application/json") return `Content-Type must be application/json, got ${JSON.stringify(header ?? null)}`;
  const charset = parsed.parameters["charset"]?.toLowerCase();
  if (charset && charset !== "utf-8" && charset !== "utf8") return `unsupported charset ${JSON.stringify(charset)}: send the AdmissionReview as UTF-8`;
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
  if (encoding !== "identity") return `unsupported Content-Encoding ${JSON.stringify(encoding)}: send the AdmissionReview uncompressed`;
  return undefined;
}

function elapsedMs(startedAt: bigint): number {
  return Number(process.hrtime.bigint() - startedAt) / 1e6;
}
