// `npm run bench:memory`: the most memory one webhook replica can be made to use, by pushing every
// bound at once: open connections up to the cap, stalled uploads holding the whole body budget,
// a stream of distinct ProxyConfig annotations of the largest size parsed, large pods, and a
// 1 MiB policy reloaded meanwhile. Prints the peak RSS (VmHWM): the Deployment's memory limit is
// sized from it (manifests/deployment.yaml).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type TLSSocket } from "node:tls";
import { issueServingBundle } from "../src/certs/serving.js";
import { MAX_PROXY_CONFIG_CHARS } from "../src/pod/proxy-config.js";
import { DEFAULT_LIMITS } from "../src/server/limits.js";
import { appPod } from "../test/fixtures/pods.js";
import { podCreateReview } from "../test/fixtures/reviews.js";
import { post, startMeshTailor } from "./lib/servers.js";

const HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n";
const policyOf = (services: number) =>
  `${HEADER}services:\n${Array.from({ length: services }, (_, i) => `  - namespace: "shop-${i}"\n    name: service-${i}\n`).join("")}`;

// Each client address gets a share of the connections and of the body budget (README "Limits"):
// the bounds as a whole are reached from many addresses, here several of 127.0.0.0/8.
const clientAddress = (i: number): string => `127.0.1.${1 + i}`;

function idleConnection(port: number, ca: string, from: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "127.0.0.1", ...({ localAddress: from } as object) }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** An upload that declares BYTES and stops one byte short, holding its reservation. */
function stalledUpload(port: number, ca: string, bytes: number, from: string): { stop(): void } {
  const req = request({
    host: "127.0.0.1",
    localAddress: from,
    port,
    path: "/mutate",
    method: "POST",
    ca,
    agent: false,
    headers: { "content-type": "application/json", "content-length": bytes },
  });
  req.on("error", () => undefined);
  req.write(Buffer.alloc(bytes - 1, " "));
  return { stop: () => req.destroy() };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mesh-tailor-memory-"));
  const bundle = await issueServingBundle({ hosts: ["127.0.0.1"], days: 1 });
  const tls = { cert: join(dir, "tls.crt"), key: join(dir, "tls.key") };
  writeFileSync(tls.cert, bundle.certPem);
  writeFileSync(tls.key, bundle.keyPem);
  const policyFile = join(dir, "policy.yaml");
  writeFileSync(policyFile, `${HEADER}defaults:\n  inject: true\n`);
  const server = await startMeshTailor("memory", dir, tls, policyFile);
  const baseline = server.memory().rssMb;
  const sockets: TLSSocket[] = [];
  const uploads: { stop(): void }[] = [];
  try {
    // Leave a few connections under the cap for the requests below.
    for (let i = 0; i < DEFAULT_LIMITS.maxConnections - 16; i++)
      sockets.push(await idleConnection(server.port, bundle.caPem, clientAddress(Math.floor(i / (DEFAULT_LIMITS.maxConnectionsPerAddress - 1)))));
    const afterConnections = server.memory().rssMb;
    const uploadBytes = DEFAULT_LIMITS.bodyBytes;
    const perAddress = Math.floor(DEFAULT_LIMITS.bufferedBodiesPerAddressBytes / uploadBytes);
    for (let i = 0; i < Math.floor(DEFAULT_LIMITS.bufferedBodiesBytes / uploadBytes); i++)
      uploads.push(stalledUpload(server.port, bundle.caPem, uploadBytes, clientAddress(10 + Math.floor(i / perAddress))));
    writeFileSync(policyFile, policyOf(12_000)); // about 0.8 MB; reloaded in a worker meanwhile
    const big = JSON.stringify(podCreateReview(appPod({ annotations: { big: "x".repeat(6 * 1024 * 1024) } })));
    let answered = 0;
    for (let i = 0; i < 300; i++) {
      const annotation = `k${i}: ${"v".repeat(MAX_PROXY_CONFIG_CHARS - 20)}`;
      const body = i % 50 === 0 ? big : JSON.stringify(podCreateReview(appPod({ annotations: { "proxy.istio.io/config": annotation } })));
      const { status } = await post(server.port, bundle.caPem, body);
      if (status === 200) answered++;
    }
    const memory = server.memory();
    const report = {
      baselineMb: round(baseline),
      afterIdleConnectionsMb: round(afterConnections),
      peakRssMb: round(memory.peakRssMb),
      endRssMb: round(memory.rssMb),
      answered,
      connections: sockets.length,
      stalledUploads: uploads.length,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.stdout.write(`memory: peak RSS ${report.peakRssMb} MB under every bound at once (baseline ${report.baselineMb} MB)\n`);
  } finally {
    for (const upload of uploads) upload.stop();
    for (const socket of sockets) socket.destroy();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (value: number): number => Math.round(value * 10) / 10;

await main();
