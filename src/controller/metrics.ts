import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type ReconcileResult = "changed" | "unchanged" | "error";

/** The controller's metrics, in a registry of its own. */
export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<"result">;
  readonly errors: Counter<"operation">;
  readonly duration: Histogram;
  readonly managedNamespaces: Gauge;
  readonly watchRestarts: Counter<"resource" | "reason">;
  readonly leader: Gauge;
  readonly lastReconcile: Gauge;
  readonly reloads: Counter<"kind" | "result">;

  constructor(managedNamespaces: () => number) {
    const registers = [this.registry];
    this.reconciles = new Counter({
      name: "mesh_tailor_controller_reconciles_total",
      help: "Namespace reconciles by result.",
      labelNames: ["result"],
      registers,
    });
    this.errors = new Counter({
      name: "mesh_tailor_controller_errors_total",
      help: "API calls that failed, by operation.",
      labelNames: ["operation"],
      registers,
    });
    this.duration = new Histogram({
      name: "mesh_tailor_controller_reconcile_duration_seconds",
      help: "Time to reconcile one namespace.",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    });
    this.managedNamespaces = new Gauge({
      name: "mesh_tailor_controller_managed_namespaces",
      help: "Namespaces enabled for mesh-tailor that the controller keeps.",
      registers,
      collect() {
        this.set(managedNamespaces());
      },
    });
    this.watchRestarts = new Counter({
      name: "mesh_tailor_controller_watch_restarts_total",
      help: "Watches started again, by resource and reason (gone: listed again after 410; error; closed: ended by the server).",
      labelNames: ["resource", "reason"],
      registers,
    });
    this.leader = new Gauge({ name: "mesh_tailor_controller_leader", help: "1 while this replica holds the leader lease and acts.", registers });
    this.lastReconcile = new Gauge({
      name: "mesh_tailor_controller_last_reconcile_timestamp_seconds",
      help: "When the last reconcile finished (Unix time).",
      registers,
    });
    this.reloads = new Counter({ name: "mesh_tailor_reloads_total", help: "Policy reloads by result.", labelNames: ["kind", "result"], registers });
    for (const result of ["changed", "unchanged", "error"] as const) this.reconciles.labels(result).inc(0);
    for (const result of ["success", "failure"]) this.reloads.labels("policy", result).inc(0);
    this.leader.set(0);
    collectDefaultMetrics({ register: this.registry, prefix: "mesh_tailor_" });
  }
}
