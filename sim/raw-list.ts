// The floor under `status` without kubectl's printer: each kind status reads, cluster-wide, in
// pages of 500, fetched and parsed as any client must, then dropped. Run as its own process, as
// status is, so that both pay a process's start, and given the paths (floors.ts) so that it
// loads nothing of mesh-tailor's. Prints the number of requests it made.
import { request, type RequestOptions } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";

const COLLECTIONS = process.argv.slice(2);

const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();
const server = new URL(kubeConfig.getCurrentCluster()!.server);

async function page(path: string): Promise<{ metadata?: { continue?: string } }> {
  const options: RequestOptions = { host: server.hostname, port: server.port, path, method: "GET", headers: { accept: "application/json" } };
  await kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${path}: ${res.statusCode} ${Buffer.concat(chunks).toString("utf8").slice(0, 500)}`));
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as { metadata?: { continue?: string } });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

let requests = 0;
for (const collection of COLLECTIONS) {
  let next: string | undefined = "";
  do {
    const body = await page(`${collection}?limit=500${next ? `&continue=${encodeURIComponent(next)}` : ""}`);
    requests += 1;
    next = body.metadata?.continue;
  } while (next);
}
console.log(String(requests));
