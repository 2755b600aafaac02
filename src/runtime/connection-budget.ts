import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server, Socket } from "node:net";
import type { Logger } from "../logging/logger.js";
import type { ClosedReason, ConnectionMetrics } from "./connection-metrics.js";
import { admitConnection, type Candidate, type ConnectionCaps, type ConnectionPhase } from "./eviction.js";

interface Connection extends Candidate {
  readonly address: string;
  phase: ConnectionPhase;
  since: number;
  /** The socket requests arrive on: the TLS socket once the handshake is done, else the TCP one. */
  socket: Socket;
  readonly key: string;
  inFlight: number;
}

export interface ConnectionBudgetOptions {
  /** Names the listener in metrics and logs. */
  readonly listener: string;
  readonly caps: ConnectionCaps;
  /** Whether connections start with a TLS handshake (an https server) or not. */
  readonly tls: boolean;
  readonly metrics: ConnectionMetrics;
  readonly logger: Logger;
  /** At most one log line per this long, summing what was refused or closed (default 10 s). */
  readonly logEveryMs?: number;
  readonly now?: () => number;
}

// Room above the budget for connections closed but not yet gone: Node's own bound, past which it
// drops a connection before anyone can choose (counted as "overflow").
const OVERFLOW_HEADROOM = 64;

const endpointKey = (socket: Socket): string => `${socket.remoteAddress ?? "?"}|${socket.remotePort ?? "?"}`;
const addressOf = (socket: Socket): string => (socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");

/**
 * Keeps a listener available to its few real clients (kube-apiserver, the kubelet, Prometheus)
 * while others misbehave: every connection is booked by client address and phase; an address
 * over its share is refused at once, before any TLS work; a full listener closes, to make room,
 * the connection of the address holding the most that has shown least sign of being a client
 * (see eviction.ts). What it refuses or closes is counted by reason and logged, at most once
 * per interval.
 */
export class ConnectionBudget {
  private readonly byAddress = new Map<string, Set<Connection>>();
  private readonly byEndpoint = new Map<string, Connection>();
  private total = 0;
  private readonly now: () => number;
  private readonly report: ClosureReport;

  constructor(private readonly options: ConnectionBudgetOptions) {
    this.now = options.now ?? (() => performance.now());
    this.report = new ClosureReport(options.listener, options.logger, options.logEveryMs ?? 10_000);
    options.metrics.track(options.listener, () => this.phases());
  }

  /** Books SERVER's connections from now on (before it listens). */
  attach(server: Server): void {
    server.maxConnections = this.options.caps.total + OVERFLOW_HEADROOM;
    server.on("connection", (socket: Socket) => this.onConnection(socket));
    if (this.options.tls) server.on("secureConnection", (socket: Socket) => this.onSecure(socket));
    server.on("request", (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    server.on("drop", (data?: { remoteAddress?: string }) => this.closed("overflow", (data?.remoteAddress ?? "unknown").replace(/^::ffff:/, "")));
  }

  /** Counts a connection closed elsewhere for REASON (a slow body), in the same metric and log. */
  closed(reason: ClosedReason, address: string): void {
    this.options.metrics.closed.labels(this.options.listener, reason).inc();
    this.report.note(reason, address);
  }

  /** Open connections by phase. */
  phases(): ReadonlyMap<ConnectionPhase, number> {
    const counts = new Map<ConnectionPhase, number>();
    for (const set of this.byAddress.values()) for (const connection of set) counts.set(connection.phase, (counts.get(connection.phase) ?? 0) + 1);
    return counts;
  }

  /** Stops the periodic log (the server is closing). */
  close(): void {
    this.report.close();
  }

  private onConnection(socket: Socket): void {
    const address = addressOf(socket);
    const decision = admitConnection(this.byAddress, this.total, address, this.options.caps);
    if (decision.kind === "refuse") {
      this.closed(decision.reason, address);
      socket.destroy();
      return;
    }
    if (decision.kind === "evict") {
      const victim = decision.victim;
      this.untrack(victim);
      this.closed(`evicted_${victim.phase as Exclude<ConnectionPhase, "active">}`, victim.address);
      victim.socket.destroy();
    }
    const connection: Connection = {
      address,
      phase: this.options.tls ? "handshake" : "awaiting",
      since: this.now(),
      socket,
      key: endpointKey(socket),
      inFlight: 0,
    };
    let set = this.byAddress.get(address);
    if (!set) this.byAddress.set(address, (set = new Set()));
    set.add(connection);
    this.byEndpoint.set(connection.key, connection);
    this.total += 1;
    socket.once("close", () => this.untrack(connection));
  }

  private onSecure(socket: Socket): void {
    const connection = this.byEndpoint.get(endpointKey(socket));
    if (!connection) return;
    connection.socket = socket;
    connection.phase = "awaiting";
    connection.since = this.now();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const connection = this.byEndpoint.get(endpointKey(req.socket));
    if (!connection) return;
    connection.inFlight += 1;
    connection.phase = "active";
    res.once("close", () => {
      connection.inFlight -= 1;
      if (connection.inFlight === 0) {
        connection.phase = "idle";
        connection.since = this.now();
      }
    });
  }

  private untrack(connection: Connection): void {
    const set = this.byAddress.get(connection.address);
    if (!set?.delete(connection)) return;
    if (set.size === 0) this.byAddress.delete(connection.address);
    if (this.byEndpoint.get(connection.key) === connection) this.byEndpoint.delete(connection.key);
    this.total -= 1;
  }
}

/**
 * One warning per interval at most, however many connections were refused or closed: counts by
 * reason and the addresses that lost the most, so a flood is visible without writing a line per
 * connection.
 */
class ClosureReport {
  private readonly byReason = new Map<ClosedReason, number>();
  private readonly byAddress = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly listener: string,
    private readonly logger: Logger,
    private readonly everyMs: number,
  ) {}

  note(reason: ClosedReason, address: string): void {
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
    // Bounded: a flood from many addresses keeps counting, under the ones already seen.
    if (this.byAddress.has(address) || this.byAddress.size < 1_000) this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.everyMs);
      this.timer.unref();
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.flush();
  }

  private flush(): void {
    this.timer = undefined;
    if (this.byReason.size === 0) return;
    const top = [...this.byAddress.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    this.logger.warn(
      { listener: this.listener, closed: Object.fromEntries(this.byReason), addresses: Object.fromEntries(top), seconds: this.everyMs / 1000 },
      "connections refused or closed to keep the listener available",
    );
    this.byReason.clear();
    this.byAddress.clear();
  }
}
