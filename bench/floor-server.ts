// The floor: a bare node:https server with mesh-tailor's TLS settings that answers each request
// with a precomputed AdmissionReview response of the same bytes mesh-tailor sends, doing no
// other work. It reads the body (as any server must) but never parses it.
// Usage: node floor-server.js CERT KEY RESPONSES_JSON  (RESPONSES: {"<request bytes>": "<response>"})
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { TLS_SETTINGS } from "../src/tls/settings.js";

const [certFile, keyFile, responsesFile] = process.argv.slice(2);
if (!certFile || !keyFile || !responsesFile) {
  process.stderr.write("usage: floor-server CERT KEY RESPONSES_JSON\n");
  process.exit(2);
}
const byRequestLength = new Map<number, Buffer>(
  Object.entries(JSON.parse(readFileSync(responsesFile, "utf8")) as Record<string, string>).map(([length, body]) => [Number(length), Buffer.from(body)]),
);

const server = createServer({ ...TLS_SETTINGS, cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  let length = 0;
  req.on("data", (chunk: Buffer) => (length += chunk.length));
  req.on("end", () => {
    const body = byRequestLength.get(length);
    if (!body) {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ msg: "floor serving", port: (server.address() as AddressInfo).port })}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
