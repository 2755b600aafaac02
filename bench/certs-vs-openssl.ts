// `mesh-tailor certs bootstrap` (root + 3 clusters, RSA 4096) against the same work done with
// the openssl command line the way Istio's tools/certs Makefiles do it (genrsa + req + x509 per
// certificate, one after another). Runs alternate in one process, so both see the same machine;
// RSA prime search varies a lot from run to run, so medians of several runs are compared.
// Usage: node dist/bench/certs-vs-openssl.js [--runs N]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const CLUSTERS = ["c1", "c2", "c3"];
const runsFlag = process.argv.indexOf("--runs");
const RUNS = runsFlag === -1 ? 5 : Number(process.argv[runsFlag + 1]);

const ROOT_CONF = `[req]
distinguished_name = dn
prompt = no
x509_extensions = ext
[dn]
O = bench
CN = Root CA
[ext]
basicConstraints = critical, CA:true
keyUsage = critical, digitalSignature, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

const intermediateConf = (cluster: string): string => `[req]
distinguished_name = dn
prompt = no
[dn]
O = bench
CN = Intermediate CA
L = ${cluster}
[ext]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, digitalSignature, keyCertSign, cRLSign
subjectAltName = DNS:istiod.istio-system.svc
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr}`);
}

function opensslBootstrap(dir: string): void {
  writeFileSync(join(dir, "root-ca.conf"), ROOT_CONF);
  run("openssl", ["genrsa", "-out", "root-key.pem", "4096"], dir);
  run("openssl", ["req", "-new", "-sha256", "-key", "root-key.pem", "-config", "root-ca.conf", "-out", "root-cert.csr"], dir);
  run(
    "openssl",
    [
      "x509",
      "-req",
      "-sha256",
      "-days",
      "3650",
      "-signkey",
      "root-key.pem",
      "-extensions",
      "ext",
      "-extfile",
      "root-ca.conf",
      "-in",
      "root-cert.csr",
      "-out",
      "root-cert.pem",
    ],
    dir,
  );
  for (const cluster of CLUSTERS) {
    writeFileSync(join(dir, `${cluster}.conf`), intermediateConf(cluster));
    run("openssl", ["genrsa", "-out", `${cluster}-key.pem`, "4096"], dir);
    run("openssl", ["req", "-new", "-sha256", "-key", `${cluster}-key.pem`, "-config", `${cluster}.conf`, "-out", `${cluster}.csr`], dir);
    run(
      "openssl",
      [
        "x509",
        "-req",
        "-sha256",
        "-days",
        "730",
        "-CA",
        "root-cert.pem",
        "-CAkey",
        "root-key.pem",
        "-set_serial",
        "0x" + Math.floor(Math.random() * 2 ** 48).toString(16),
        "-extensions",
        "ext",
        "-extfile",
        `${cluster}.conf`,
        "-in",
        `${cluster}.csr`,
        "-out",
        `${cluster}-cert.pem`,
      ],
      dir,
    );
  }
}

function meshTailorBootstrap(dir: string): void {
  run(process.execPath, [CLI, "certs", "bootstrap", "--out", join(dir, "out"), "--clusters", CLUSTERS.join(",")], dir);
}

function timed(work: (dir: string) => void): number {
  const dir = mkdtempSync(join(tmpdir(), "mesh-tailor-bench-certs-"));
  try {
    const start = process.hrtime.bigint();
    work(dir);
    return Number(process.hrtime.bigint() - start) / 1e9;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const ours: number[] = [];
const theirs: number[] = [];
for (let i = 0; i < RUNS; i++) {
  ours.push(timed(meshTailorBootstrap));
  theirs.push(timed(opensslBootstrap));
  console.log(`run ${i + 1}/${RUNS}: mesh-tailor ${ours[i]!.toFixed(2)} s, openssl ${theirs[i]!.toFixed(2)} s`);
}
const ratio = median(ours) / median(theirs);
console.log(
  `median: mesh-tailor ${median(ours).toFixed(2)} s, openssl ${median(theirs).toFixed(2)} s (root + ${CLUSTERS.length} clusters, RSA 4096, ${RUNS} runs each)`,
);
console.log(`certs bootstrap / openssl time ratio: ${ratio.toFixed(2)} (bar: <= 1.5)`);
process.exitCode = ratio <= 1.5 ? 0 : 1;
