import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { ConnectionMetrics } from "../runtime/connection-metrics.js";

export type RequestOutcome = "mutated" | "allowed" | "skipped" | "bad_request" | "error";
export type ReloadKind = "policy" | "certificate";

/** Every metric mesh-tailor exports, in a registry of its own (one per server, so tests can run several). */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<"outcome">;
  readonly duration: Histogram<"outcome">;
  readonly inFlight: Gauge;
  readonly mutationsApplied: Counter<"mutation">;
  readonly mutationFailures: Counter<"mutation">;
  readonly reloads: Counter<"kind" | "result">;
  readonly handlerPanics: Counter;
  readonly certificateExpiry: Gauge;
  readonly bodiesRefused: Counter<"reason">;
  /** Connections refused or closed, and open, per listener (the HTTPS one and the probes'). */
  readonly connections: ConnectionMetrics;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({ name: "mesh_tailor_admission_requests_total", help: "Admission requests by outcome.", labelNames: ["outcome"], registers });
    this.duration = new Histogram({
      name: "mesh_tailor_admission_duration_seconds",
      help: "Time to answer an admission request, from parsed body to response.",
      labelNames: ["outcome"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.inFlight = new Gauge({ name: "mesh_tailor_admission_in_flight_requests", help: "Admission requests being answered now.", registers });
    this.mutationsApplied = new Counter({
      name: "mesh_tailor_mutations_applied_total",
      help: "Customizations in force on admitted pods, by name.",
      labelNames: ["mutation"],
      registers,
    });
    this.mutationFailures = new Counter({
      name: "mesh_tailor_mutation_failures_total",
      help: "Customizations that threw and were skipped, by name.",
      labelNames: ["mutation"],
      registers,
    });
    this.reloads = new Counter({
      name: "mesh_tailor_reloads_total",
      help: "Policy and certificate reloads by result.",
      labelNames: ["kind", "result"],
      registers,
    });
    this.handlerPanics = new Counter({ name: "mesh_tailor_handler_panics_total", help: "Unexpected errors caught around the admission handler.", registers });
    this.certificateExpiry = new Gauge({
      name: "mesh_tailor_serving_certificate_expiry_timestamp_seconds",
      help: "When the certificate being served expires (Unix time).",
      registers,
    });
    this.connections = new ConnectionMetrics(this.registry);
    this.bodiesRefused = new Counter({
      name: "mesh_tailor_request_bodies_refused_total",
      help: "Request bodies refused before parsing: budget (all uploads), address_budget (one client's), too_slow, too_large.",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of ["budget", "address_budget", "too_slow", "too_large"]) this.bodiesRefused.labels(reason).inc(0);
    for (const outcome of ["mutated", "allowed", "skipped", "bad_request", "error"] as const) this.requests.labels(outcome).inc(0);
    for (const kind of ["policy", "certificate"] as const) for (const result of ["success", "failure"]) this.reloads.labels(kind, result).inc(0);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "mesh_tailor_" });
  }
}
