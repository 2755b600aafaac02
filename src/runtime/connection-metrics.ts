import { Counter, Gauge, type Registry } from "prom-client";
import type { ConnectionPhase } from "./eviction.js";

/** Why a connection was refused or closed to keep a listener available. */
export type ClosedReason =
  /** Its address already held its share of connections. */
  | "address_limit"
  /** Every connection was answering a request: nothing could give way. */
  | "capacity"
  /** Past the listener's hard bound (Node's maxConnections), before any of the above could look. */
  | "overflow"
  | "evicted_handshake"
  | "evicted_awaiting"
  | "evicted_idle"
  /** A request body arriving slower than the minimum upload rate. */
  | "slow_body";

export const CLOSED_REASONS: readonly ClosedReason[] = [
  "address_limit",
  "capacity",
  "overflow",
  "evicted_handshake",
  "evicted_awaiting",
  "evicted_idle",
  "slow_body",
];
const PHASES: readonly ConnectionPhase[] = ["handshake", "awaiting", "active", "idle"];

/** What a listener reports of its connections: one set per registry, shared by its listeners. */
export class ConnectionMetrics {
  readonly closed: Counter<"listener" | "reason">;
  private readonly counts = new Map<string, () => ReadonlyMap<ConnectionPhase, number>>();

  constructor(registry: Registry) {
    const counts = this.counts;
    this.closed = new Counter({
      name: "mesh_tailor_connections_closed_total",
      help: "Connections refused or closed to keep the listener available to its clients, by reason.",
      labelNames: ["listener", "reason"],
      registers: [registry],
    });
    new Gauge({
      name: "mesh_tailor_connections_open",
      help: "Open connections by phase: handshake, awaiting (no request yet), active, idle (kept alive).",
      labelNames: ["listener", "phase"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [listener, read] of counts) {
          const byPhase = read();
          for (const phase of PHASES) this.labels(listener, phase).set(byPhase.get(phase) ?? 0);
        }
      },
    });
  }

  /** Registers LISTENER: its counters start at zero, and COUNTS is read at every scrape. */
  track(listener: string, counts: () => ReadonlyMap<ConnectionPhase, number>): void {
    this.counts.set(listener, counts);
    for (const reason of CLOSED_REASONS) this.closed.labels(listener, reason).inc(0);
  }
}
