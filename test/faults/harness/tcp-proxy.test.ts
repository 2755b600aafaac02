import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { afterEach, beforeEach, describe, it } from "node:test";
import { waitFor } from "../../e2e/harness/processes.js";
import { startTcpProxy, type TcpProxy, type TcpProxyStats } from "./tcp-proxy.js";

// Each mode of the proxy against a local echo server. Absence (nothing delivered) is proven by
// positive evidence: the proxy has counted the bytes as black-holed, which it does instead of
// forwarding them, and neither end has seen them.

const BOUND_MS = 5_000;

interface EchoServer {
  readonly server: Server;
  readonly port: number;
  /** The server's side of each connection, in the order accepted. */
  readonly sockets: Socket[];
  /** Every byte the server received, as text. */
  received(): string;
}

async function startEchoServer(): Promise<EchoServer> {
  const sockets: Socket[] = [];
  let received = "";
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => undefined);
    socket.on("data", (chunk) => {
      received += chunk.toString();
      socket.write(chunk);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as { port: number }).port, sockets, received: () => received };
}

interface Client {
  readonly socket: Socket;
  text(): string;
  /** The error code the socket failed with, once it has closed; "" for a clean close. */
  closed: Promise<string>;
}

function client(port: number): Client {
  const socket = connect({ host: "127.0.0.1", port });
  let text = "";
  let errorCode = "";
  socket.on("data", (chunk) => (text += chunk.toString()));
  socket.on("error", (error: NodeJS.ErrnoException) => (errorCode = error.code ?? error.message));
  const closed = new Promise<string>((resolve) => socket.once("close", () => resolve(errorCode)));
  return { socket, text: () => text, closed };
}

const textIs = (c: Client, expected: string, what: string) =>
  waitFor(`${what} to read ${JSON.stringify(expected)} (has ${JSON.stringify(c.text())})`, BOUND_MS, () => (c.text() === expected ? true : undefined), 5);
const statsReach = (proxy: TcpProxy, what: string, done: (stats: TcpProxyStats) => boolean) =>
  waitFor(what, BOUND_MS, () => (done(proxy.stats()) ? true : undefined), 5);
const closedWithin = (c: Client, what: string) =>
  Promise.race([
    c.closed,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${BOUND_MS} ms waiting for ${what} to close`)), BOUND_MS).unref()),
  ]);

/** A client that has echoed TEXT once through the proxy: a connection known to be established end to end. */
async function echoed(port: number, text: string): Promise<Client> {
  const c = client(port);
  c.socket.write(text);
  await textIs(c, text, `a new client's echo of ${text}`);
  return c;
}

describe("tcp proxy", () => {
  let echo: EchoServer;
  let proxy: TcpProxy;
  const clients: Client[] = [];
  const track = (c: Client): Client => (clients.push(c), c);

  beforeEach(async () => {
    echo = await startEchoServer();
    proxy = await startTcpProxy({ host: "127.0.0.1", port: echo.port });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await proxy.close();
    for (const socket of echo.sockets) socket.destroy();
    await new Promise((resolve) => echo.server.close(resolve));
  });

  it("passes bytes both ways and counts them", async () => {
    const c = track(await echoed(proxy.port, "hello"));
    c.socket.write(" world");
    await textIs(c, "hello world", "the client");
    assert.equal(echo.received(), "hello world");
    assert.deepEqual(proxy.stats(), {
      connectionsAccepted: 1,
      connectionsRefused: 0,
      openConnections: 1,
      bytesFromClients: 11,
      bytesToTarget: 11,
      bytesFromTarget: 11,
      bytesToClients: 11,
      bytesBlackholed: 0,
    });
  });

  it("blackhole: silence both ways on open and new connections; on pass, those that lost bytes are reset and idle ones carry on", async () => {
    const talker = track(await echoed(proxy.port, "a"));
    const idle = track(await echoed(proxy.port, "i"));
    const pushedTo = track(await echoed(proxy.port, "p"));
    const pushedFrom = echo.sockets[2]!;
    proxy.blackhole();

    talker.socket.write("lost");
    await statsReach(proxy, "4 bytes from the client black-holed", (s) => s.bytesBlackholed === 4);
    pushedFrom.write("push");
    await statsReach(proxy, "4 more bytes, from the server, black-holed", (s) => s.bytesBlackholed === 8);

    const late = track(client(proxy.port));
    await once(late.socket, "connect");
    late.socket.write("late");
    await statsReach(
      proxy,
      "a connection accepted during the blackhole, and its 4 bytes black-holed",
      (s) => s.connectionsAccepted === 4 && s.bytesBlackholed === 12,
    );

    assert.equal(echo.received(), "aip", "the server received nothing while black-holed");
    assert.deepEqual([talker.text(), pushedTo.text(), late.text()], ["a", "p", ""], "the clients received nothing while black-holed");
    assert.deepEqual(
      [proxy.stats().bytesFromClients, proxy.stats().bytesToTarget, proxy.stats().bytesFromTarget, proxy.stats().bytesToClients],
      [3 + 4 + 4, 3, 3 + 4, 3],
    );

    proxy.pass();
    for (const [c, name] of [
      [talker, "the client whose bytes were lost"],
      [pushedTo, "the client whose server's bytes were lost"],
      [late, "the client that connected during the blackhole"],
    ] as const) {
      assert.equal(await closedWithin(c, name), "ECONNRESET", `${name} is reset`);
    }
    assert.equal(talker.text() + pushedTo.text() + late.text(), "ap", "nothing held was delivered");
    idle.socket.write("again");
    await textIs(idle, "iagain", "the client that stayed idle");
    track(await echoed(proxy.port, "new"));
  });

  it("refuse: resets open connections and every new one until pass", async () => {
    const open = track(await echoed(proxy.port, "x"));
    proxy.refuse();
    assert.equal(await closedWithin(open, "the open client"), "ECONNRESET");

    const refused = track(client(proxy.port));
    assert.equal(await closedWithin(refused, "a client connecting while refused"), "ECONNRESET");
    assert.equal(refused.text(), "");
    assert.equal(proxy.stats().connectionsRefused, 1);
    assert.equal(echo.received(), "x");

    proxy.pass();
    track(await echoed(proxy.port, "back"));
    assert.equal(echo.received(), "xback");
  });

  it("delay: every chunk waits, in order, even when a shorter delay follows a longer one", async () => {
    const c = track(await echoed(proxy.port, "0"));
    const DELAY_MS = 150;
    proxy.delay(DELAY_MS);
    const sent = performance.now();
    c.socket.write("a");
    await textIs(c, "0a", "the delayed echo");
    const roundTrip = performance.now() - sent;
    // Both directions wait; a millisecond of slack for timers' rounding.
    assert.ok(roundTrip >= 2 * DELAY_MS - 2, `the echo came back after ${roundTrip.toFixed(1)} ms, sooner than twice the ${DELAY_MS} ms delay`);

    proxy.delay(300);
    c.socket.write("b");
    await statsReach(proxy, "the proxy to have read b (and queued it for 300 ms)", (s) => s.bytesFromClients === 3);
    proxy.delay(0);
    c.socket.write("c");
    await textIs(c, "0abc", "the echo of b then c");
    proxy.pass();
    c.socket.write("d");
    await textIs(c, "0abcd", "an undelayed echo");
  });

  it("close: resets every connection and stops listening", async () => {
    const open = track(await echoed(proxy.port, "x"));
    await proxy.close();
    assert.equal(await closedWithin(open, "the open client"), "ECONNRESET");
    const after = track(client(proxy.port));
    assert.equal(await closedWithin(after, "a client connecting after close"), "ECONNREFUSED");
  });
});
