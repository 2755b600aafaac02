import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appPod, classicInjected, migratingPolicy, nativeInjected } from "../../test/fixtures/pods.js";
import { runMutation } from "../../test/fixtures/context.js";
import { MAX_POD_SECONDS, proxyOutlivesApp } from "./proxy-outlives-app.js";

const policy = migratingPolicy();
const sleep30 = { preStop: { exec: { command: ["sh", "-c", "sleep 30"] } } };
const proxyOf = (r: ReturnType<typeof runMutation>) => r.pod.spec.containers.find((c) => c.name === "istio-proxy")!;

describe("proxy-outlives-app: shutdown ordering", () => {
  it("gives a classic proxy a 35s preStop when the app sleeps 30s, as in the brief", () => {
    const result = runMutation(proxyOutlivesApp, classicInjected(appPod({ preStop: sleep30 })), policy);
    assert.deepEqual(proxyOf(result).lifecycle?.preStop, { sleep: { seconds: 35 } });
    assert.equal(result.pod.spec.terminationGracePeriodSeconds, 40);
    assert.equal(result.inForce, true);
  });

  it("uses `sleep N` in the proxy image when the policy asks for exec", () => {
    const result = runMutation(proxyOutlivesApp, classicInjected(appPod({ preStop: sleep30 })), migratingPolicy({ shutdown: { proxyPreStopAction: "exec" } }));
    assert.deepEqual(proxyOf(result).lifecycle?.preStop, { exec: { command: ["sleep", "35"] } });
  });

  it("reads every preStop form and takes the longest app container", () => {
    const pod = classicInjected(appPod({ preStop: { preStop: { sleep: { seconds: 12 } } } }));
    pod.spec.containers.splice(1, 0, { name: "worker", lifecycle: { preStop: { exec: { command: ["sleep", "20"] } } } });
    assert.deepEqual(proxyOf(runMutation(proxyOutlivesApp, pod, policy)).lifecycle?.preStop, { sleep: { seconds: 25 } });
  });

  it("assumes appPreStopSecondsDefault for a preStop it cannot read", () => {
    const pod = classicInjected(appPod({ preStop: { preStop: { httpGet: { path: "/quit", port: 8080 } } } }));
    const result = runMutation(proxyOutlivesApp, pod, migratingPolicy({ shutdown: { appPreStopSecondsDefault: 45 } }));
    assert.deepEqual(proxyOf(result).lifecycle?.preStop, { sleep: { seconds: 50 } });
    assert.equal(result.pod.spec.terminationGracePeriodSeconds, 55);
  });

  it("keeps an existing proxy preStop that is already longer", () => {
    const pod = classicInjected(appPod({ preStop: sleep30 }));
    pod.spec.containers[1]!.lifecycle = { preStop: { exec: { command: ["sleep", "60"] } } };
    const result = runMutation(proxyOutlivesApp, pod, policy);
    assert.deepEqual(proxyOf(result).lifecycle?.preStop, { exec: { command: ["sleep", "60"] } });
    assert.deepEqual(
      result.warnings.filter((w) => w.includes("preStop hook")),
      [],
    );
  });

  it("replaces a shorter or unreadable proxy preStop, with a warning", () => {
    const pod = classicInjected(appPod({ preStop: sleep30 }));
    pod.spec.containers[1]!.lifecycle = { preStop: { exec: { command: ["sleep", "5"] } }, postStart: { exec: { command: ["pilot-agent", "wait"] } } };
    const result = runMutation(proxyOutlivesApp, pod, policy);
    assert.deepEqual(proxyOf(result).lifecycle, { preStop: { sleep: { seconds: 35 } }, postStart: { exec: { command: ["pilot-agent", "wait"] } } });
    assert.match(result.warnings[0]!, /replaced the istio-proxy preStop/);
  });

  it("raises the grace period as soon as the pod is selected, before injection, and warns", () => {
    const result = runMutation(proxyOutlivesApp, appPod({ preStop: sleep30 }), policy);
    assert.equal(result.pod.spec.terminationGracePeriodSeconds, 40);
    assert.match(result.warnings[0]!, /raised terminationGracePeriodSeconds from 30 to 40/);
    assert.equal(result.inForce, false, "no proxy to order yet");
  });

  it("never lowers a longer grace period", () => {
    const pod = appPod({ preStop: sleep30 });
    pod.spec.terminationGracePeriodSeconds = 120;
    const result = runMutation(proxyOutlivesApp, pod, policy);
    assert.equal(result.pod.spec.terminationGracePeriodSeconds, 120);
    assert.deepEqual(result.warnings, []);
  });

  it("keeps Istio's drain hook on a native sidecar and adds no sleep", () => {
    const native = nativeInjected(appPod({ preStop: sleep30 }));
    const result = runMutation(proxyOutlivesApp, native, policy);
    assert.deepEqual(result.pod.spec.initContainers, native.spec.initContainers);
    assert.equal(result.pod.spec.terminationGracePeriodSeconds, 40);
    assert.equal(result.inForce, true);
  });

  it("does nothing for unselected pods or when turned off", () => {
    const pod = classicInjected(appPod({ preStop: sleep30 }));
    assert.equal(runMutation(proxyOutlivesApp, pod, migratingPolicy({}, [])).pod, pod);
    assert.equal(runMutation(proxyOutlivesApp, pod, migratingPolicy({ shutdown: { enabled: false } })).pod, pod);
    const noGrace = runMutation(proxyOutlivesApp, pod, migratingPolicy({ shutdown: { adjustTerminationGracePeriod: false } }));
    assert.equal(noGrace.pod.spec.terminationGracePeriodSeconds, undefined);
  });

  it("clamps what it writes to integers the API and the kubelet can hold, and says so", () => {
    for (const seconds of ["99999999999999999999", "9".repeat(400)]) {
      const pod = classicInjected(appPod({ preStop: { preStop: { exec: { command: ["sleep", seconds] } } } }));
      const result = runMutation(proxyOutlivesApp, pod, policy);
      // What the patch carries: the pod as JSON.
      const written = JSON.parse(JSON.stringify(result.pod)) as {
        spec: { terminationGracePeriodSeconds: number; containers: { name: string; lifecycle?: { preStop?: unknown } }[] };
      };
      assert.equal(written.spec.terminationGracePeriodSeconds, MAX_POD_SECONDS);
      assert.deepEqual(written.spec.containers.find((c) => c.name === "istio-proxy")?.lifecycle?.preStop, {
        sleep: { seconds: MAX_POD_SECONDS },
      });
      assert.ok(
        result.warnings.some((w) => w.includes(`longer than ${MAX_POD_SECONDS}s`)),
        result.warnings.join("\n"),
      );
    }
  });

  it("keeps the proxy's sleep within a grace period it may not raise, as Kubernetes validation requires", () => {
    const pod = classicInjected(appPod({ preStop: sleep30 }));
    const result = runMutation(proxyOutlivesApp, pod, migratingPolicy({ shutdown: { adjustTerminationGracePeriod: false } }));
    assert.deepEqual(proxyOf(result).lifecycle?.preStop, { sleep: { seconds: 30 } });
    assert.match(result.warnings.join("\n"), /sleeps 30s, the pod's terminationGracePeriodSeconds/);
    const exec = runMutation(proxyOutlivesApp, pod, migratingPolicy({ shutdown: { adjustTerminationGracePeriod: false, proxyPreStopAction: "exec" } }));
    assert.deepEqual(proxyOf(exec).lifecycle?.preStop, { exec: { command: ["sleep", "35"] } }, "an exec sleep is not validated against the grace period");
  });
});
