import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type ErrorRequestHandler } from "express";
import { pinoHttp } from "pino-http";
import { createMutateHandler, sendJson, type MutateOptions } from "./mutate-handler.js";

export interface AppOptions extends MutateOptions {
  /** What /readyz reports: a list of reasons not to send traffic, empty when ready. */
  readonly notReadyReasons: () => readonly string[];
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

// Errors look the same whichever handler answers them.
const sendError = (res: ServerResponse, status: number, message: string): void => sendJson(res, status, { error: message, status });

/**
 * The webhook's HTTP surface. POST /mutate, on the path of every pod creation, goes straight to
 * its own lean handler; everything else (probes, metrics, wrong methods, unknown paths) to
 * express.
 */
export function createApp(options: AppOptions): RequestListener {
  const mutate = createMutateHandler(options);
  const app = createExpressApp(options);
  return (req, res) => {
    if (req.method === "POST" && (req.url === "/mutate" || req.url?.startsWith("/mutate?"))) mutate(req, res);
    else app(req, res);
  };
}

function createExpressApp(options: AppOptions): express.Express {
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
      customSuccessMessage: () => "request",
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

  app.all("/mutate", (_req, res) => {
    res.setHeader("Allow", "POST");
    sendError(res, 405, "use POST /mutate with an AdmissionReview");
  });

  app.use((req, res) => {
    sendError(res, 404, `no route for ${req.method} ${req.path}; routes: POST /mutate, GET /healthz, GET /readyz, GET /metrics`);
  });

  // Nothing here parses bodies; this catches the unexpected, never with a stack for the caller.
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const status = typeof error?.status === "number" && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status < 500) metrics.requests.labels("bad_request").inc();
    else metrics.handlerPanics.inc();
    const message = status < 500 ? String(error?.message ?? "bad request") : "internal error";
    sendError(res, status, message);
  };
  app.use(onError);
  return app;
}
