import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appPod, migratingPolicy, policyWith } from "../../test/fixtures/pods.js";
import { runMutation } from "../../test/fixtures/context.js";
import { policyProblems } from "../../test/fixtures/policy-problems.js";
import type { Pod } from "../pod/types.js";
import { runPipeline } from "./pipeline.js";
import { appKeepAlive } from "./app-keep-alive.js";

const withEnv = (pod: Pod, env: { name: string; value: string }[]): Pod => ({
  ...pod,
  spec: { ...pod.spec, containers: pod.spec.containers.map((c) => ({ ...c, env })) },
});

describe("connection.appKeepAlive: a warning when the proxy's pool to the app outlives the app's keep-alive", () => {
  const perService = migratingPolicy(
    { services: [{ namespace: "*", name: "reviews", connection: { appKeepAlive: { env: "KEEP_ALIVE_TIMEOUT", unit: "ms" } } }] },
    [],
  );

  it("warns, naming the container, the value, where it was read and the DestinationRule setting that fixes it, and changes nothing", () => {
    const pod = withEnv(appPod(), [{ name: "KEEP_ALIVE_TIMEOUT", value: "5000" }]);
    const result = runMutation(appKeepAlive, pod, perService);
    assert.equal(result.pod, pod, "nothing written: only a DestinationRule or Sidecar can shorten that pool");
    assert.equal(result.inForce, false);
    assert.equal(result.warnings.length, 1);
    assert.match(
      result.warnings[0]!,
      /container "app" closes idle connections after 5s \(env KEEP_ALIVE_TIMEOUT\), but the proxy keeps its idle connections to the app for 1h unless a DestinationRule for this service or a Sidecar's inboundConnectionPool sets connectionPool\.http\.idleTimeout under 5s: a request on a connection the app has just closed gets 503 \(connection reset\)/,
    );
  });

  it("stays quiet for a keep-alive of an hour or more, a container that declares none, a pod out of the mesh, and a policy that names none", () => {
    assert.deepEqual(runMutation(appKeepAlive, withEnv(appPod(), [{ name: "KEEP_ALIVE_TIMEOUT", value: "3600000" }]), perService).warnings, []);
    assert.deepEqual(runMutation(appKeepAlive, appPod(), perService).warnings, []);
    // 0: no keep-alive at all (Go's IdleTimeout, Node.js's keepAliveTimeout), so nothing to race.
    assert.deepEqual(runMutation(appKeepAlive, withEnv(appPod(), [{ name: "KEEP_ALIVE_TIMEOUT", value: "0" }]), perService).warnings, []);
    assert.deepEqual(runMutation(appKeepAlive, withEnv(appPod(), [{ name: "KEEP_ALIVE_TIMEOUT", value: "5000" }]), migratingPolicy()).warnings, []);
    const out = policyWith({ services: [{ name: "reviews", inject: false, connection: { appKeepAlive: { env: "KEEP_ALIVE_TIMEOUT" } } }] });
    const result = runPipeline({ pod: withEnv(appPod(), [{ name: "KEEP_ALIVE_TIMEOUT", value: "5" }]), namespace: "shop" }, out);
    assert.ok(!result.warnings.some((w) => w.includes("keep-alive") || w.includes("idle connections")), result.warnings.join("\n"));
  });

  it("says so when the value cannot be read, and reads a flag where the policy names one", () => {
    const unreadable = runMutation(appKeepAlive, withEnv(appPod(), [{ name: "KEEP_ALIVE_TIMEOUT", value: "soon" }]), perService);
    assert.match(unreadable.warnings.join(), /cannot read container "app"'s keep-alive from env KEEP_ALIVE_TIMEOUT \("soon"\): .* a number of milliseconds/);
    const byFlag = policyWith({ defaults: { connection: { appKeepAlive: { arg: "--keep-alive" } } }, services: [{ name: "reviews" }] });
    const pod: Pod = { ...appPod(), spec: { ...appPod().spec, containers: [{ name: "app", image: "a:1", args: ["--keep-alive=65s"] }] } };
    assert.match(runMutation(appKeepAlive, pod, byFlag).warnings.join(), /closes idle connections after 65s \(flag --keep-alive\)/);
  });

  it("refuses a policy that names both an env var and a flag, or neither", () => {
    const problems = (value: string) => policyProblems(`defaults:\n  connection: {appKeepAlive: ${value}}\n`);
    assert.match(problems("{env: A, arg: --a}"), /exactly one of env and arg/);
    assert.match(problems("{unit: ms}"), /exactly one of env and arg/);
    assert.match(problems('{env: "A B"}'), /environment variable name/);
    assert.match(problems("{arg: keep-alive}"), /must be a flag/);
    assert.match(problems("{env: A, unit: minutes}"), /unit/);
  });
});
