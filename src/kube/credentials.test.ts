import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { resolveCredentialSource } from "./credentials.js";
import { KubeConfigError } from "./errors.js";
import { inClusterSource, serviceAccountAvailable } from "./in-cluster.js";

const serviceAccountDir = (token: string): string => {
  const dir = mkdtempSync(join(tmpdir(), "mesh-tailor-sa-"));
  writeFileSync(join(dir, "token"), `${token}\n`);
  writeFileSync(join(dir, "ca.crt"), "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
  return dir;
};

const POD_ENV = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };

describe("credentials in a pod (the ServiceAccount's files, no library)", () => {
  it("reads the token and CA, and reads the rotated token again after a minute or a 401", async () => {
    const dir = serviceAccountDir("first");
    let now = 0;
    const source = inClusterSource(POD_ENV, dir, () => now);
    const first = await source.current();
    assert.equal(first.server, "https://10.96.0.1:443");
    assert.equal(first.headers["Authorization"], "Bearer first");
    assert.match(first.ca ?? "", /BEGIN CERTIFICATE/);
    writeFileSync(join(dir, "token"), "second\n");
    now = 30_000;
    assert.equal((await source.current()).headers["Authorization"], "Bearer first", "cached within the minute");
    now = 61_000;
    assert.equal((await source.current()).headers["Authorization"], "Bearer second", "read again after a minute");
    writeFileSync(join(dir, "token"), "third\n");
    source.invalidate();
    assert.equal((await source.current()).headers["Authorization"], "Bearer third", "read again at once after a 401");
  });

  it("brackets an IPv6 service address, and knows when it is in a pod", () => {
    const dir = serviceAccountDir("t");
    assert.equal(serviceAccountAvailable(POD_ENV, dir), true);
    assert.equal(serviceAccountAvailable({}, dir), false);
    assert.equal(serviceAccountAvailable(POD_ENV, join(dir, "absent")), false);
    return inClusterSource({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" }, dir)
      .current()
      .then((c) => assert.equal(c.server, "https://[fd00::1]:443"));
  });
});

describe("which credentials a command uses", () => {
  const home = mkdtempSync(join(tmpdir(), "mesh-tailor-home-"));

  it("says what to set when there is neither a kubeconfig nor a ServiceAccount", async () => {
    await assert.rejects(
      resolveCredentialSource(undefined, { HOME: home }),
      (error: Error) => error instanceof KubeConfigError && /no cluster to talk to: there is no .*\.kube\/config and KUBECONFIG is not set/.test(error.message),
    );
    await assert.rejects(resolveCredentialSource(undefined, { KUBECONFIG: join(home, "a"), HOME: home }), /none of the files KUBECONFIG names exists/);
    await assert.rejects(resolveCredentialSource("prod", { HOME: home, ...POD_ENV }), /cannot use --context prod/);
  });

  it("resolves a kubeconfig in a process of its own, the context named or the current one, and says what is wrong with it", async () => {
    const kubeconfig = join(home, "config");
    const cluster = (name: string, port: number) => ({ name, cluster: { server: `https://127.0.0.1:${port}`, "insecure-skip-tls-verify": true } });
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [cluster("one", 6443), cluster("two", 7443)],
        users: [
          { name: "alice", user: { token: "alice-token" } },
          { name: "bob", user: { token: "bob-token" } },
        ],
        contexts: [
          { name: "one", context: { cluster: "one", user: "alice" } },
          { name: "two", context: { cluster: "two", user: "bob" } },
        ],
        "current-context": "one",
      }),
    );
    const env = { HOME: home, KUBECONFIG: kubeconfig };
    const current = await (await resolveCredentialSource(undefined, env)).current();
    assert.deepEqual([current.server, current.headers["Authorization"]], ["https://127.0.0.1:6443", "Bearer alice-token"]);
    const named = await (await resolveCredentialSource("two", env)).current();
    assert.deepEqual([named.server, named.headers["Authorization"]], ["https://127.0.0.1:7443", "Bearer bob-token"]);
    await assert.rejects(
      resolveCredentialSource("three", env),
      (error: Error) => error instanceof KubeConfigError && /no context "three" in the kubeconfig; contexts: one, two/.test(error.message),
    );
  });
});
