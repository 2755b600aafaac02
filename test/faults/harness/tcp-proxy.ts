import { connect, createServer, type Socket } from "node:net";
import { performance } from "node:perf_hooks";

// A TCP proxy between one client process and kube-apiserver, whose path the test breaks at will.
// It forwards bytes and never parses them, so TLS passes through end to end.

export type TcpProxyMode =
  { readonly kind: "pass" } | { readonly kind: "blackhole" } | { readonly kind: "refuse" } | { readonly kind: "delay"; readonly ms: number };

export interface TcpProxyStats {
  /** Every connection the listener accepted, refused ones included. */
  readonly connectionsAccepted: number;
  /** Connections reset at once because the proxy was refusing. */
  readonly connectionsRefused: number;
  readonly openConnections: number;
  /** Bytes read from the clients, and those of them delivered to the target. */
  readonly bytesFromClients: number;
  readonly bytesToTarget: number;
  /** Bytes read from the target, and those of them delivered to the clients. */
  readonly bytesFromTarget: number;
  readonly bytesToClients: number;
  /** Bytes, either way, that arrived while black-holed and were never delivered. */
  readonly bytesBlackholed: number;
}

export interface TcpProxy {
  /** Where the client connects, on 127.0.0.1. */
  readonly port: number;
  readonly mode: TcpProxyMode;
  /** Forward every byte as it comes. */
  pass(): void;
  /**
   * A dropped network path: connections stay open and new ones are accepted, but nothing crosses
   * in either direction, not even a close. What arrives is held back and then dropped, never
   * delivered. A TCP stream cannot skip bytes, so on pass() (or delay()) every connection that
   * lost something is reset on both sides, as when TCP gives up retransmitting over a dead path;
   * connections that stayed idle carry on. The proxy's own kernel still acknowledges the
   * client's segments, so TCP keepalive does not notice: only the client's own timeouts do.
   */
  blackhole(): void;
  /** An API server that is down: open connections are reset, and so is every new one. */
  refuse(): void;
  /** Forward every chunk MS after it arrived, in order (a later, shorter delay never overtakes). */
  delay(ms: number): void;
  stats(): TcpProxyStats;
  /** Stops listening and resets every connection. */
  close(): Promise<void>;
}

/** One direction of a connection: chunks (null is the end of the stream) written in order, each when due. */
class Lane {
  private readonly queue: { chunk: Buffer | null; due: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private awaitingDrain = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly delivered: (bytes: number) => void,
  ) {}

  send(chunk: Buffer | null, delayMs: number): void {
    const lastDue = this.queue.at(-1)?.due ?? 0;
    this.queue.push({ chunk, due: Math.max(performance.now() + delayMs, lastDue) });
    if (this.queue.length === 1) this.flush();
  }

  clear(): void {
    this.queue.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    while (this.queue.length > 0 && !this.to.destroyed) {
      const head = this.queue[0]!;
      const wait = head.due - performance.now();
      if (wait > 0) {
        this.timer = setTimeout(() => this.flush(), wait);
        return;
      }
      this.queue.shift();
      if (head.chunk === null) {
        if (!this.to.writableEnded) this.to.end();
        continue;
      }
      this.delivered(head.chunk.length);
      // Backpressure: a slow reader slows the writer down instead of filling the proxy's memory.
      if (!this.to.write(head.chunk) && !this.awaitingDrain) {
        this.awaitingDrain = true;
        this.from.pause();
        this.to.once("drain", () => {
          this.awaitingDrain = false;
          this.from.resume();
        });
      }
    }
  }
}

/** A client connection and the proxy's own connection to the target. */
class Link {
  /** Something (bytes, an end, a close) was swallowed by a blackhole: the stream has a gap. */
  lost = false;
  readonly toTarget: Lane;
  readonly toClient: Lane;

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    counters: Record<"bytesToTarget" | "bytesToClients", number>,
  ) {
    this.toTarget = new Lane(client, upstream, (n) => (counters.bytesToTarget += n));
    this.toClient = new Lane(upstream, client, (n) => (counters.bytesToClients += n));
  }

  /** Both sides reset (RST, not FIN), so each peer sees the connection fail rather than end. */
  reset(): void {
    this.toTarget.clear();
    this.toClient.clear();
    for (const socket of [this.client, this.upstream]) {
      if (socket.destroyed) continue;
      // A socket still connecting has no connection to reset.
      if (socket.connecting) socket.destroy();
      else socket.resetAndDestroy();
    }
  }
}

/** Starts a proxy to TARGET on 127.0.0.1 (a port of the kernel's choosing), passing. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: TcpProxyMode = { kind: "pass" };
  const links = new Set<Link>();
  const counters = {
    connectionsAccepted: 0,
    connectionsRefused: 0,
    bytesFromClients: 0,
    bytesToTarget: 0,
    bytesFromTarget: 0,
    bytesToClients: 0,
    bytesBlackholed: 0,
  };

  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    counters.connectionsAccepted += 1;
    if (mode.kind === "refuse") {
      counters.connectionsRefused += 1;
      client.on("error", () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    const link = new Link(client, upstream, counters);
    links.add(link);
    const delayNow = () => (mode.kind === "delay" ? mode.ms : 0);
    // FROM's bytes, end and failure, carried to the other side by LANE. While black-holed the
    // other side hears nothing, and the link is marked for pass() to reset.
    const carry = (from: Socket, lane: Lane, laneBack: Lane, read: "bytesFromClients" | "bytesFromTarget") => {
      from.on("data", (chunk: Buffer) => {
        counters[read] += chunk.length;
        if (mode.kind === "blackhole") {
          counters.bytesBlackholed += chunk.length;
          link.lost = true;
        } else lane.send(chunk, delayNow());
      });
      from.on("end", () => {
        if (mode.kind === "blackhole") link.lost = true;
        else lane.send(null, delayNow());
      });
      from.on("error", () => undefined);
      from.on("close", (hadError: boolean) => {
        if (mode.kind === "blackhole") link.lost = true;
        // A failure travels on as a reset; a plain close as an end, after whatever is queued.
        else if (hadError) link.reset();
        else lane.send(null, delayNow());
        laneBack.clear();
        if (link.client.destroyed && link.upstream.destroyed) links.delete(link);
      });
    };
    carry(client, link.toTarget, link.toClient, "bytesFromClients");
    carry(upstream, link.toClient, link.toTarget, "bytesFromTarget");
    client.resume();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("the proxy has no port");

  const resetAll = (which: (link: Link) => boolean) => {
    for (const link of [...links]) {
      if (!which(link)) continue;
      link.reset();
      links.delete(link);
    }
  };
  const resumeAll = () => {
    for (const link of links) {
      link.client.resume();
      link.upstream.resume();
    }
  };

  return {
    port: address.port,
    get mode() {
      return mode;
    },
    pass() {
      mode = { kind: "pass" };
      resetAll((link) => link.lost);
    },
    blackhole() {
      mode = { kind: "blackhole" };
      // A reader paused for backpressure must flow again, or its bytes would wait in the kernel
      // instead of being counted as black-holed.
      resumeAll();
    },
    refuse() {
      mode = { kind: "refuse" };
      resetAll(() => true);
    },
    delay(ms: number) {
      if (!(ms >= 0)) throw new Error(`delay must be a number of milliseconds, not ${ms}`);
      mode = { kind: "delay", ms };
      resetAll((link) => link.lost);
    },
    stats: () => ({ ...counters, openConnections: links.size }),
    close() {
      mode = { kind: "refuse" };
      resetAll(() => true);
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
