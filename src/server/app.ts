import type { IncomingMessage, ServerResponse } from "node:http";
import { createProbeApp } from "../runtime/probe-app.js";
import { createMutateHandler, sendJson, type MutateOptions } from "./mutate-handler.js";

export interface AppOptions extends MutateOptions {
  /** What /readyz reports: a list of reasons not to send traffic, empty when ready. */
  readonly notReadyReasons: () => readonly string[];
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The webhook's HTTP surface. POST /mutate, on the path of every pod creation, goes straight to
 * its own lean handler; everything else (probes, metrics, wrong methods, unknown paths) to the
 * probe app every long-running mesh-tailor process serves.
 */
export function createApp(options: AppOptions): RequestListener {
  const { logger, metrics } = options;
  const mutate = createMutateHandler(options);
  const app = createProbeApp({
    registry: metrics.registry,
    notReadyReasons: options.notReadyReasons,
    logger,
    panics: metrics.handlerPanics,
    badRequests: metrics.requests.labels("bad_request"),
    routeList: ["POST /mutate"],
    routes: (express) =>
      express.all("/mutate", (_req, res) => {
        res.setHeader("Allow", "POST");
        sendJson(res, 405, { error: "use POST /mutate with an AdmissionReview", status: 405 });
      }),
  });
  return (req, res) => {
    if (req.method === "POST" && (req.url === "/mutate" || req.url?.startsWith("/mutate?"))) mutate(req, res);
    else app(req, res);
  };
}
