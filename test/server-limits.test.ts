import assert from "node:assert/strict";
import { Agent, request as httpsRequest } from "node:https";
import { connect, type TLSSocket } from "node:tls";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { issueServingBundle, type ServingBundle } from "../src/certs/serving.js";
import { createLogger } from "../src/logging/logger.js";
import { MAX_POLICY_BYTES } from "../src/policy/load.js";
import type { ServerLimits } from "../src/server/limits.js";
import { WebhookServer } from "../src/server/webhook-server.js";
import { appPod } from "./fixtures/pods.js";
import { podCreateReview, type AnsweredReview, type Refusal } from "./fixtures/reviews.js";
import { SecretVolume } from "./fixtures/secret-volume.js";

const quietLogger = () => createLogger({ level: "silent", destination: new Writable({ write: (_c, _e, done) => done() }) });
const REVIEW = JSON.stringify(podCreateReview(appPod()));

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request; the body is written as given (chunks, with pauses), and the answer read whole. */
function send(
  port: number,
  ca: string,
  options: {
    agent?: Agent;
    path?: string;
    method?: string;
    headers?: Record<string, string | number>;
    chunks?: (string | Buffer)[];
    holdOpen?: boolean;
    /** The client's address (any of 127.0.0.0/8 on loopback): the server books connections by it. */
    from?: string;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path: options.path ?? "/mutate",
        method: options.method ?? "POST",
        ca,
        servername: "localhost",
        agent: options.agent ?? false,
        ...(options.from ? { localAddress: options.from } : {}),
        headers: { "content-type": "application/json", ...options.headers },
      },
      (res) => {
        let body = "";
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    for (const chunk of options.chunks ?? [REVIEW]) req.write(chunk);
    if (!options.holdOpen) req.end();
  });
}

/** A TLS connection that has finished its handshake and says nothing. */
function idleConnection(port: number, ca: string, from?: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost", ...(from ? { localAddress: from } : {}) }, () => resolve(socket));
    socket.once("error", reject);
    socket.resume(); // read, so the server's close is seen
  });
}

/** Sends a review until the answer has STATUS (a refused connection counts as no answer); fails naming WHAT after MS. */
async function answeredWith(port: number, ca: string, status: number, ms: number, what: string, from?: string): Promise<Answer> {
  const deadline = Date.now() + ms;
  let last: Answer | undefined;
  while (Date.now() < deadline) {
    last = await send(port, ca, from ? { from } : {}).catch(() => undefined);
    if (last?.status === status) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what}: no ${status} within ${ms} ms (last answer ${last?.status ?? "none"})`);
}

const closed = (socket: TLSSocket): Promise<void> => (socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once("close", () => resolve())));

/** Resolves with the promise's value, or fails saying what was awaited once the bound passes. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

const closedCount = async (server: WebhookServer, reason: string): Promise<number> => {
  const metric = await server.metrics.registry.getSingleMetric("mesh_tailor_connections_closed_total")?.get();
  return metric?.values.find((v) => v.labels["listener"] === "webhook" && v.labels["reason"] === reason)?.value ?? 0;
};

/** Waits until the server has seen every earlier test's connection close (its books start empty). */
const noneOpen = async (server: WebhookServer): Promise<void> => {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const metric = await server.metrics.registry.getSingleMetric("mesh_tailor_connections_open")?.get();
    const open = (metric?.values ?? []).filter((v) => v.labels["listener"] === "webhook").reduce((sum, v) => sum + v.value, 0);
    if (open === 0) return;
    if (Date.now() > deadline) assert.fail(`the server still books ${open} connection(s) 5 s after the last test closed them`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe("the server's bounds", () => {
  let bundle: ServingBundle;
  let server: WebhookServer;
  const limits: Partial<ServerLimits> = {
    bodyBytes: 64 * 1024,
    bufferedBodiesBytes: 100 * 1024,
    discardAfterRefusalBytes: 512 * 1024,
    maxConnections: 6,
    maxConnectionsPerAddress: 4,
    requestTimeoutMs: 3_000,
    headersTimeoutMs: 2_500,
    // The minimum upload rate has its own tests below: these stall bodies on purpose.
    minBodyGraceMs: 60_000,
  };

  before(async () => {
    bundle = await issueServingBundle({ hosts: ["localhost", "127.0.0.1"], days: 1 });
    server = await WebhookServer.start({
      port: 0,
      host: "127.0.0.1",
      tls: { kind: "inline", pair: { certPem: bundle.certPem, keyPem: bundle.keyPem } },
      policyFile: undefined,
      logger: quietLogger(),
      limits,
    });
  });

  after(() => server.shutdown());

  it("offers TLS 1.2 only with forward secrecy and AEAD: AES128-SHA is refused, ECDHE-RSA-AES128-GCM-SHA256 accepted", async () => {
    const handshake = (ciphers: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port: server.port, ca: bundle.caPem, servername: "localhost", maxVersion: "TLSv1.2", ciphers }, () => {
          resolve(socket.getCipher().name);
          socket.end();
        });
        socket.on("error", reject);
      });
    await assert.rejects(handshake("AES128-SHA"), /handshake failure|no ciphers|SSL/i);
    await assert.rejects(handshake("ECDHE-RSA-AES128-SHA"), /handshake failure|no ciphers|SSL/i);
    assert.equal(await handshake("ECDHE-RSA-AES128-GCM-SHA256"), "ECDHE-RSA-AES128-GCM-SHA256");
  });

  it("answers a chunked body over the limit with 413 and keeps the connection serving", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const big = Buffer.alloc(32 * 1024, "x");
      const refused = await within(send(server.port, bundle.caPem, { agent, chunks: [big, big, big, big] }), 10_000, "413 for the oversized chunked body");
      assert.equal(refused.status, 413);
      assert.match((JSON.parse(refused.body) as Refusal).error, /larger than the 65536-byte limit/);
      const next = await within(send(server.port, bundle.caPem, { agent }), 10_000, "an answer to the next request on the same connection");
      assert.equal(next.status, 200);
    } finally {
      agent.destroy();
    }
  });

  it("closes the connection of a refused body that keeps coming past the discard bound", async () => {
    // A raw TLS client, which (unlike Node's HTTP client) keeps sending after the 413 arrives:
    // the server must close it mid-upload, not read the 16 MiB it is sent.
    const socket = await idleConnection(server.port, bundle.caPem);
    const chunk = Buffer.alloc(64 * 1024, "x");
    const total = 256;
    const sent = await within(
      new Promise<number>((resolve) => {
        let written = 0;
        socket.once("close", () => resolve(written));
        socket.on("error", () => undefined);
        socket.write("POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
        const pump = (): void => {
          while (written < total && !socket.destroyed) {
            written++;
            if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`)) return void socket.once("drain", pump);
          }
          if (written === total) resolve(written);
        };
        pump();
      }),
      10_000,
      "the upload to be cut off or sent whole",
    );
    assert.ok(sent < total, `the server read all ${total} chunks (16 MiB) of a refused body`);
    await within(closed(socket), 5_000, "the connection to be closed");
  });

  it("refuses new bodies with 429 and Retry-After while stalled uploads hold the buffer budget, then recovers", async () => {
    // Two uploads that declare 48 KiB and stall hold 96 of the 100 KiB budget.
    const stalled = [0, 1].map(() => {
      const agent = new Agent({ keepAlive: false });
      const answer = send(server.port, bundle.caPem, { agent, headers: { "content-length": 48 * 1024 }, chunks: ["{"], holdOpen: true }).catch(() => undefined);
      return { agent, answer };
    });
    const refused = await answeredWith(server.port, bundle.caPem, 429, 5_000, "a body refused while the budget is held");
    assert.equal(refused.headers["retry-after"], "1");
    for (const { agent } of stalled) agent.destroy();
    await Promise.all(stalled.map((s) => s.answer));
    await answeredWith(server.port, bundle.caPem, 200, 10_000, "the budget released once the stalled uploads are gone");
  });

  it("drops a request whose body stops one byte short, within the request timeout", async () => {
    const started = Date.now();
    const answer = await within(
      send(server.port, bundle.caPem, { headers: { "content-length": Buffer.byteLength(REVIEW) }, chunks: [REVIEW.slice(0, -1)], holdOpen: true }).then(
        (a) => `status ${a.status}`,
        (error: NodeJS.ErrnoException) => error.code ?? error.message,
      ),
      8_000,
      "the stalled request to be ended",
    );
    assert.ok(answer === "status 408" || answer === "ECONNRESET", `answer: ${answer}`);
    assert.ok(Date.now() - started >= 2_500, "not before the timeout");
  });

  it("closes a connection that never sends a request", async () => {
    const socket = await idleConnection(server.port, bundle.caPem);
    await within(closed(socket), 8_000, "the idle connection to be closed");
  });

  it("refuses at once a connection from an address at its share, while another address is served", async () => {
    await noneOpen(server);
    const before = await closedCount(server, "address_limit");
    const mine = await Promise.all(Array.from({ length: 4 }, () => idleConnection(server.port, bundle.caPem, "127.0.0.2")));
    try {
      // Refused at once, well before the 2.5 s headers timeout could close it.
      const extra = await within(
        idleConnection(server.port, bundle.caPem, "127.0.0.2").then(
          (socket) => closed(socket).then(() => "closed"),
          () => "refused",
        ),
        1_500,
        "the connection over the address's share to be refused",
      );
      assert.ok(extra === "closed" || extra === "refused", extra);
      const other = await within(send(server.port, bundle.caPem, { from: "127.0.0.3" }), 5_000, "an answer to another address");
      assert.equal(other.status, 200);
      assert.ok(
        mine.every((socket) => !socket.destroyed),
        "its own connections are left alone",
      );
      assert.equal(await closedCount(server, "address_limit"), before + 1);
    } finally {
      for (const socket of mine) socket.destroy();
    }
  });

  it("when full, makes room for a newcomer by closing the oldest connection of the address holding the most", async () => {
    await noneOpen(server);
    const flood: TLSSocket[] = [];
    // One by one, so that "oldest" is well defined.
    for (let i = 0; i < 4; i++) flood.push(await idleConnection(server.port, bundle.caPem, "127.0.0.2"));
    const others = await Promise.all(Array.from({ length: 2 }, () => idleConnection(server.port, bundle.caPem, "127.0.0.3")));
    try {
      const answer = await within(send(server.port, bundle.caPem, { from: "127.0.0.4" }), 5_000, "an answer to the newcomer while the listener is full");
      assert.equal(answer.status, 200);
      await within(closed(flood[0]!), 1_500, "the flood's oldest connection to be closed");
      assert.ok(
        others.every((socket) => !socket.destroyed),
        "the address holding fewer keeps its connections",
      );
      assert.ok((await closedCount(server, "evicted_awaiting")) >= 1);
    } finally {
      for (const socket of [...flood, ...others]) socket.destroy();
    }
  });
});

describe("the minimum upload rate", () => {
  it("cuts a trickling body with 408 and closes its connection, long before the request timeout", async () => {
    const bundle = await issueServingBundle({ hosts: ["localhost", "127.0.0.1"], days: 1 });
    const server = await WebhookServer.start({
      port: 0,
      host: "127.0.0.1",
      tls: { kind: "inline", pair: { certPem: bundle.certPem, keyPem: bundle.keyPem } },
      policyFile: undefined,
      logger: quietLogger(),
      limits: { minBodyGraceMs: 300, minBodyBytesPerSecond: 64 * 1024, requestTimeoutMs: 20_000 },
    });
    try {
      const socket = await idleConnection(server.port, bundle.caPem);
      const started = Date.now();
      let answer = "";
      socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
      socket.write("POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 7190235\r\n\r\n{");
      const trickle = setInterval(() => socket.write(" "), 500);
      try {
        await within(closed(socket), 10_000, "the trickling upload to be cut");
      } finally {
        clearInterval(trickle);
      }
      assert.match(answer, /^HTTP\/1\.1 408 /);
      assert.match(answer, /slower than 65536 bytes\/s/);
      assert.ok(Date.now() - started < 10_000, "cut long before the 20 s request timeout");
      assert.equal(await closedCount(server, "slow_body"), 1);
      const bodies = (await server.metrics.registry.getSingleMetric("mesh_tailor_request_bodies_refused_total")?.get())?.values ?? [];
      assert.equal(bodies.find((v) => v.labels["reason"] === "too_slow")?.value, 1);
    } finally {
      await server.shutdown();
    }
  });
});

describe("shutting down", () => {
  it("tells every client to close its connection while it drains", async () => {
    const bundle = await issueServingBundle({ hosts: ["localhost", "127.0.0.1"], days: 1 });
    const server = await WebhookServer.start({
      port: 0,
      host: "127.0.0.1",
      tls: { kind: "inline", pair: { certPem: bundle.certPem, keyPem: bundle.keyPem } },
      policyFile: undefined,
      logger: quietLogger(),
      shutdownDelayMs: 3_000,
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await send(server.port, bundle.caPem, { agent });
      assert.equal(before.headers["connection"], "keep-alive");
      const stopping = server.shutdown();
      const during = await send(server.port, bundle.caPem, { agent });
      assert.equal(during.status, 200);
      assert.equal(during.headers["connection"], "close");
      await stopping;
    } finally {
      agent.destroy();
    }
  });
});

describe("policy reloads", () => {
  const HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n";
  const manyServices = (count: number) =>
    `${HEADER}services:\n${Array.from({ length: count }, (_, i) => `  - namespace: "shop-${i}"\n    name: service-${i}\n`).join("")}`;

  /** BODY against a webhook serving the policy file INITIAL from a volume it hot reloads (polled only when asked). */
  async function withPolicyServer(
    initial: string,
    body: (server: WebhookServer, volume: SecretVolume, ca: string) => Promise<void>,
    logger = quietLogger(),
  ): Promise<void> {
    const bundle = await issueServingBundle({ hosts: ["localhost"], days: 1 });
    const volume = new SecretVolume({ "policy.yaml": initial });
    const server = await WebhookServer.start({
      port: 0,
      host: "127.0.0.1",
      tls: { kind: "inline", pair: { certPem: bundle.certPem, keyPem: bundle.keyPem } },
      policyFile: volume.path("policy.yaml"),
      logger,
      pollMs: 60_000,
    });
    try {
      await body(server, volume, bundle.caPem);
    } finally {
      await server.shutdown();
      volume.remove();
    }
  }

  it("parses a large new policy off the event loop, which keeps turning meanwhile", async () => {
    await withPolicyServer(HEADER, async (server, volume) => {
      const text = manyServices(12_000);
      assert.ok(Buffer.byteLength(text) > 500_000 && Buffer.byteLength(text) < MAX_POLICY_BYTES);
      volume.update({ "policy.yaml": text });
      let turns = 0;
      let reloading = true;
      const spin = (): void => {
        turns++;
        if (reloading) setImmediate(spin);
      };
      setImmediate(spin);
      await server.reloadNow();
      reloading = false;
      assert.equal(server.currentPolicy.policy.services.length, 12_000);
      // Parsed on this thread, the reload would be one long turn: the loop could not turn at all.
      assert.ok(turns > 20, `the event loop turned ${turns} times during the reload`);
    });
  });

  it("refuses a namespace pattern that backtracks, keeps the last good policy, and answers a pod in a 63-character namespace at once", async () => {
    await withPolicyServer(`${HEADER}services:\n  - name: reviews\n`, async (server, volume, ca) => {
      const good = server.currentPolicy.revision;
      // Issue 22's pattern: in force, this namespace would hold the event loop for longer than anyone would wait.
      volume.update({ "policy.yaml": `${HEADER}sandbox:\n  namespacePattern: "^(?<base>([a-z0-9]+-?)+)--(?<branch>box-[a-z0-9]+)$"\n` });
      await server.reloadNow();
      assert.equal(server.currentPolicy.revision, good);
      const metrics = await server.metrics.registry.metrics();
      assert.match(metrics, /mesh_tailor_reloads_total\{kind="policy",result="failure"\} 1/);
      assert.match(metrics, /mesh_tailor_policy_refused 1/);
      const namespace = `o${"0".repeat(62)}`;
      const started = performance.now();
      const answer = await send(server.port, ca, { chunks: [JSON.stringify(podCreateReview(appPod(), { namespace }))] });
      const elapsed = performance.now() - started;
      assert.equal(answer.status, 200);
      assert.equal((JSON.parse(answer.body) as AnsweredReview).response.allowed, true);
      // Measured at 50–90 ms, the TLS handshake most of it; the bound is for a busy 2-core machine.
      assert.ok(elapsed < 1_000, `answered in ${elapsed} ms`);
    });
  });

  it("refuses a reloaded policy over a cost limit, naming it, and keeps the last good one", async () => {
    const logged: string[] = [];
    const logger = createLogger({ level: "error", destination: new Writable({ write: (chunk: Buffer, _e, done) => (logged.push(chunk.toString()), done()) }) });
    await withPolicyServer(
      `${HEADER}services:\n  - name: reviews\n`,
      async (server, volume) => {
        const good = server.currentPolicy.revision;
        const slow = Array.from({ length: 200 }, (_, i) => `  - name: "*${"a".repeat(31)}b${i}"\n`).join("");
        volume.update({ "policy.yaml": `${HEADER}services:\n${slow}` });
        await server.reloadNow();
        assert.equal(server.currentPolicy.revision, good);
        assert.match(logged.join(""), /new policy refused.*over the limit of 4096 per lookup|over the limit of 4096 per lookup.*new policy refused/);
      },
      logger,
    );
  });

  it("refuses a policy file over 1 MiB without parsing it, and keeps the last good one", async () => {
    await withPolicyServer(HEADER, async (server, volume) => {
      const good = server.currentPolicy.revision;
      volume.update({ "policy.yaml": `${HEADER}# ${"x".repeat(MAX_POLICY_BYTES)}\n` });
      await server.reloadNow();
      assert.equal(server.currentPolicy.revision, good);
      const failures = (await server.metrics.reloads.get()).values.find((v) => v.labels["kind"] === "policy" && v.labels["result"] === "failure")?.value;
      assert.equal(failures, 1);
    });
  });
});
