// A hostile client, run in a worker thread of its own so its work does not slow the clients that
// measure: it keeps COUNT connections of one kind open against a port, opening a new one shortly
// after the server closes one, until told to stop; then it reports what it saw.
import { connect as tcpConnect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { parentPort, workerData } from "node:worker_threads";

export type AttackKind =
  /** TLS connections that send one request, kept alive, then say nothing. */
  | "idle-keepalive"
  /** Plain HTTP connections, the same (against the probe port). */
  | "idle-keepalive-plain"
  /** TLS connections that send a request's headers one byte a second. */
  | "slow-headers"
  /** TCP connections to the TLS port that never start the handshake. */
  | "raw-tcp"
  /** TLS POSTs declaring a 7,190,235-byte body, sent one byte every two seconds. */
  | "slow-upload";

export interface AttackOptions {
  readonly kind: AttackKind;
  readonly port: number;
  readonly count: number;
  /** The attacker's source address on loopback. */
  readonly from: string;
}

export interface AttackReport {
  /** Connections opened (TCP accepted) over the attack. */
  readonly opened: number;
  /** Of those, closed by the server. */
  readonly closedByServer: number;
  /** Connections closed before they were established (refused at once). */
  readonly refused: number;
  /** Most connections open at once. */
  readonly peakOpen: number;
}

const REQUEST_HEAD = "POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 7190235\r\n\r\n";
const SLOW_HEADERS = "POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Padding: " + "x".repeat(4096);

function run({ kind, port, count, from }: AttackOptions, stop: Promise<void>): Promise<AttackReport> {
  let opened = 0;
  let closedByServer = 0;
  let refused = 0;
  let open = 0;
  let peakOpen = 0;
  let stopping = false;
  const sockets = new Set<Socket>();

  const open1 = (): void => {
    if (stopping) return;
    const tls = kind !== "raw-tcp" && kind !== "idle-keepalive-plain";
    const socket: Socket = tls
      ? // tls.connect passes net.connect's options (localAddress among them) to the socket it opens.
        tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, servername: "localhost", ...({ localAddress: from } as ConnectionOptions) })
      : tcpConnect({ host: "127.0.0.1", port, localAddress: from });
    sockets.add(socket);
    const timers: NodeJS.Timeout[] = [];
    let connected = false;
    socket.on("error", () => undefined);
    socket.resume();
    socket.once(tls ? "secureConnect" : "connect", () => {
      connected = true;
      opened += 1;
      open += 1;
      peakOpen = Math.max(peakOpen, open);
      if (kind === "idle-keepalive" || kind === "idle-keepalive-plain") socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
      if (kind === "slow-headers") {
        let sent = 0;
        timers.push(setInterval(() => socket.write(SLOW_HEADERS[sent++ % SLOW_HEADERS.length]!), 1_000));
      }
      if (kind === "slow-upload") {
        socket.write(`${REQUEST_HEAD}{`);
        timers.push(setInterval(() => socket.write(" "), 2_000));
      }
    });
    socket.once("close", () => {
      for (const timer of timers) clearInterval(timer);
      sockets.delete(socket);
      if (stopping) return;
      if (connected) {
        closedByServer += 1;
        open -= 1;
      } else refused += 1;
      // A persistent client: it comes back soon, as many times as it is sent away.
      setTimeout(open1, 100);
    });
  };

  // Opened in waves, as a client that wants many connections would.
  for (let i = 0; i < count; i++) setTimeout(open1, Math.floor(i / 50) * 20);
  return stop.then(() => {
    stopping = true;
    for (const socket of sockets) socket.destroy();
    return { opened, closedByServer, refused, peakOpen };
  });
}

if (parentPort && workerData) {
  const port = parentPort;
  const stop = new Promise<void>((resolve) => port.once("message", () => resolve()));
  void run(workerData as AttackOptions, stop).then((report) => port.postMessage(report));
}
