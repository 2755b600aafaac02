import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type ErrorRequestHandler } from "express";
import type { Logger } from "pino";
import { pinoHttp } from "pino-http";
import type { Registry } from "prom-client";

export interface ProbeAppOptions {
  readonly registry: Registry;
  /** What /readyz reports: a list of reasons not to send traffic, empty when ready. */
  readonly notReadyReasons: () => readonly string[];
  /** Request lines for anything but the probes; none when absent. */
  readonly logger?: Logger | undefined;
  /** Routes of the process's own, added before the catch-all 404. */
  readonly routes?: ((app: express.Express) => void) | undefined;
  /** Every route, for the 404 answer. */
  readonly routeList?: readonly string[] | undefined;
  /** Counts answers that failed unexpectedly (500). */
  readonly panics?: { inc(): void } | undefined;
  /** Counts requests refused as malformed (4xx from the error handler). */
  readonly badRequests?: { inc(): void } | undefined;
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

const PROBE_ROUTES = ["GET /healthz", "GET /readyz", "GET /metrics"];
const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

const sendError = (res: express.Response, status: number, message: string): void => void res.status(status).json({ error: message, status });

/**
 * What every long-running mesh-tailor process serves to the kubelet and Prometheus: /healthz
 * (alive), /readyz (ready, or the reasons not to be) and /metrics. The webhook mounts it beside
 * its admission route; the controller serves it alone. Probes are never logged; anything else
 * gets one line when a logger is given.
 */
export function createProbeApp(options: ProbeAppOptions): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  if (options.logger) {
    app.use(
      pinoHttp({
        logger: options.logger,
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
  }
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", (_req, res) => {
    const reasons = options.notReadyReasons();
    if (reasons.length === 0) res.json({ status: "ready" });
    else res.status(503).json({ status: "not ready", reasons });
  });
  app.get("/metrics", (_req, res, next) => {
    options.registry.metrics().then((text) => res.type(options.registry.contentType).send(text), next);
  });
  options.routes?.(app);
  const routes = [...(options.routeList ?? []), ...PROBE_ROUTES].join(", ");
  app.use((req, res) => sendError(res, 404, `no route for ${req.method} ${req.path}; routes: ${routes}`));
  // Nothing here parses bodies; this catches the unexpected, never with a stack for the caller.
  const onError: ErrorRequestHandler = (error: { status?: unknown; message?: unknown } | undefined, _req, res, _next) => {
    const status = typeof error?.status === "number" && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status < 500) options.badRequests?.inc();
    else options.panics?.inc();
    sendError(res, status, status < 500 && typeof error?.message === "string" ? error.message : status < 500 ? "bad request" : "internal error");
  };
  app.use(onError);
  return app;
}
