import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from "express";
import { pinoHttp } from "pino-http";
import { decodeAdmissionReview } from "../admission/decode.js";
import { handleAdmission } from "../admission/handler.js";
import { allowed, review } from "../admission/response.js";
import type { AdmissionReview } from "../admission/types.js";
import type { Logger } from "../logging/logger.js";
import type { CompiledPolicy } from "../policy/load.js";
import type { Metrics, RequestOutcome } from "./metrics.js";

// kube-apiserver caps request bodies at 3 MiB of object plus overhead; 7 MiB leaves room for
// an AdmissionReview carrying a large pod twice (object and oldObject) without inviting abuse.
export const DEFAULT_BODY_LIMIT = "7mb";

export interface AppOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The policy in force now; it may change between requests (hot reload). */
  readonly currentPolicy: () => CompiledPolicy;
  /** What /readyz reports: a list of reasons not to send traffic, empty when ready. */
  readonly notReadyReasons: () => readonly string[];
  readonly bodyLimit?: string;
}

interface AdmissionLog {
  uid: string;
  namespace?: string | undefined;
  workload?: string | undefined;
  service?: string | undefined;
  operation?: string | undefined;
  dryRun?: boolean | undefined;
  outcome: RequestOutcome;
  reason?: string | undefined;
  mutations?: readonly string[] | undefined;
  warnings?: number | undefined;
  durationMs: number;
}

const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

function sendError(res: Response, status: number, message: string): void {
  res.status(status).json({ error: message, status });
}

export function createApp(options: AppOptions): express.Express {
  const { logger, metrics } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  app.use(
    pinoHttp({
      logger,
      quietReqLogger: true,
      autoLogging: { ignore: (req) => QUIET_PATHS.has(req.url ?? "") },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? "error" : res.statusCode >= 400 ? "warn" : "info"),
      customSuccessMessage: (req) => (req.url === "/mutate" ? "admission" : "request"),
      customProps: (_req, res) => {
        const admission = (res as Response).locals?.["admission"] as AdmissionLog | undefined;
        return admission ? { admission } : {};
      },
      serializers: {
        req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });

  app.get("/readyz", (_req, res) => {
    const reasons = options.notReadyReasons();
    if (reasons.length === 0) res.json({ status: "ready" });
    else res.status(503).json({ status: "not ready", reasons });
  });

  app.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const requireJson: RequestHandler = (req, res, next) => {
    if (!req.is("application/json")) {
      metrics.requests.labels("bad_request").inc();
      sendError(res, 415, `Content-Type must be application/json, got ${JSON.stringify(req.headers["content-type"] ?? null)}`);
      return;
    }
    next();
  };

  app.post("/mutate", requireJson, express.json({ limit: options.bodyLimit ?? DEFAULT_BODY_LIMIT, strict: false }), (req: Request, res: Response) => {
    const started = process.hrtime.bigint();
    const elapsedMs = (): number => Number(process.hrtime.bigint() - started) / 1e6;
    metrics.inFlight.inc();
    try {
      const decoded = decodeAdmissionReview(req.body);
      if (!decoded.ok) {
        metrics.requests.labels("bad_request").inc();
        res.locals["admission"] = { uid: "", outcome: "bad_request", reason: decoded.message, durationMs: elapsedMs() } satisfies AdmissionLog;
        sendError(res, 400, decoded.message);
        return;
      }
      const { request, version } = decoded;
      let outcome: RequestOutcome;
      let answer: AdmissionReview;
      const log: AdmissionLog = {
        uid: request.uid,
        namespace: request.namespace,
        operation: request.operation,
        dryRun: request.dryRun,
        outcome: "allowed",
        durationMs: 0,
      };
      try {
        const handled = handleAdmission(request, options.currentPolicy());
        outcome = handled.outcome;
        answer = review(version, handled.response);
        const pipeline = handled.pipeline;
        if (pipeline) {
          log.workload = pipeline.workload ? `${pipeline.workload.kind}/${pipeline.workload.name}` : undefined;
          log.service = pipeline.serviceName;
          log.mutations = pipeline.applied;
          log.warnings = pipeline.warnings.length;
          for (const name of pipeline.applied) metrics.mutationsApplied.labels(name).inc();
          for (const failure of pipeline.failures) {
            metrics.mutationFailures.labels(failure.mutation).inc();
            req.log.error({ err: failure.error, uid: request.uid, mutation: failure.mutation }, "customization failed; admitted without it");
          }
        }
        log.reason = handled.reason;
      } catch (error) {
        // Never fail a pod because of a bug here: admit it as it came, and say so.
        outcome = "error";
        metrics.handlerPanics.inc();
        req.log.error({ err: error, uid: request.uid }, "admission handler failed; admitted unchanged");
        answer = review(version, allowed(request.uid, [`mesh-tailor: internal error, pod admitted without customization (${(error as Error).message})`]));
      }
      log.outcome = outcome;
      log.durationMs = elapsedMs();
      res.locals["admission"] = log;
      metrics.requests.labels(outcome).inc();
      metrics.duration.labels(outcome).observe(log.durationMs / 1000);
      res.json(answer);
    } finally {
      metrics.inFlight.dec();
    }
  });

  app.all("/mutate", (_req, res) => {
    res.setHeader("Allow", "POST");
    sendError(res, 405, "use POST /mutate with an AdmissionReview");
  });

  app.use((req, res) => {
    sendError(res, 404, `no route for ${req.method} ${req.path}; routes: POST /mutate, GET /healthz, GET /readyz, GET /metrics`);
  });

  // Body-parser errors carry their own 4xx status: too large, not JSON, bad encoding.
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const status = typeof error?.status === "number" && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status < 500) metrics.requests.labels("bad_request").inc();
    else metrics.handlerPanics.inc();
    const message =
      error?.type === "entity.too.large"
        ? `request body is larger than the ${options.bodyLimit ?? DEFAULT_BODY_LIMIT} limit`
        : error?.type === "entity.parse.failed"
          ? `request body is not valid JSON: ${error.message}`
          : status < 500
            ? String(error?.message ?? "bad request")
            : "internal error";
    res.locals["admission"] = { uid: "", outcome: status < 500 ? "bad_request" : "error", reason: message, durationMs: 0 } satisfies AdmissionLog;
    sendError(res, status, message);
  };
  app.use(onError);
  return app;
}
