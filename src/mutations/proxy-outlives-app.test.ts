import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appPod, classicInjected, migratingPolicy, nativeInjected } from "../../test/fixtures/pods.js";
import { runMutation } from "../../test/fixtures/context.js";
import fc from "fast-check";
import type { Container, Pod } from "../pod/types.js";
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

  it("keeps Istio's drain hook on a native sidecar and adds no sleep; its grace period holds no drain, which Istio runs while the app stops", () => {
    const native = nativeInjected(appPod({ preStop: sleep30, annotations: { "proxy.istio.io/config": "terminationDrainDuration: 60s\n" } }));
    const result = runMutation(proxyOutlivesApp, native, policy);
    assert.deepEqual(result.pod.spec.initContainers, native.spec.initContainers);
    assert.equal(result.pod.spec.terminationGracePeriodSeconds, 35);
    assert.match(result.warnings.join(), /to cover the app's 30s preStop, a 5s margin \(a native sidecar, which Istio drains while the app stops\)/);
    assert.equal(result.inForce, true);
  });

  it("counts the drain the pod's ProxyConfig asks for, the service's merged into it, else the mesh's as the policy states it", () => {
    const grace = (annotations: Record<string, string>, extra: Record<string, unknown> = {}, inject = classicInjected) =>
      runMutation(proxyOutlivesApp, inject(appPod({ preStop: sleep30, annotations })), migratingPolicy(extra));
    assert.equal(grace({}).pod.spec.terminationGracePeriodSeconds, 40, "30 + 5 margin + the mesh's 5s");
    assert.equal(grace({}, { shutdown: { proxyDrainSeconds: 12 } }).pod.spec.terminationGracePeriodSeconds, 47);
    const own = grace({ "proxy.istio.io/config": "terminationDrainDuration: 30s\n" });
    assert.equal(own.pod.spec.terminationGracePeriodSeconds, 65);
    assert.match(own.warnings.join(), /and the proxy's 30s drain \(terminationDrainDuration from proxy\.istio\.io\/config\)/);
    assert.equal(grace({ "proxy.istio.io/config": '{"terminationDrainDuration":"2.5s"}' }).pod.spec.terminationGracePeriodSeconds, 38, "rounded up");
    // Before injection too, and for a pod not yet injected whose annotation asks for native.
    assert.equal(grace({ "proxy.istio.io/config": "terminationDrainDuration: 30s\n" }, {}, (pod) => pod).pod.spec.terminationGracePeriodSeconds, 65);
    assert.equal(grace({ "sidecar.istio.io/nativeSidecar": "true" }, {}, (pod) => pod).pod.spec.terminationGracePeriodSeconds, 35);
  });

  it("with EXIT_ON_ZERO_ACTIVE_CONNECTIONS counts MINIMUM_DRAIN_DURATION instead, from the pod, the proxy's env or the policy", () => {
    const run = (annotations: Record<string, string>, extra: Record<string, unknown> = {}, inject = classicInjected) =>
      runMutation(proxyOutlivesApp, inject(appPod({ preStop: sleep30, annotations })), migratingPolicy(extra));
    const metadata = (fields: string) => ({ "proxy.istio.io/config": `terminationDrainDuration: 60s\nproxyMetadata: {${fields}}\n` });
    assert.equal(
      run(metadata('EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true", MINIMUM_DRAIN_DURATION: "1m30s"')).pod.spec.terminationGracePeriodSeconds,
      126,
      "the minimum, and the first check a second later",
    );
    assert.equal(run(metadata('EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true"')).pod.spec.terminationGracePeriodSeconds, 41, "the policy's 5s minimum");
    assert.equal(
      run(metadata('EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "false"'), { shutdown: { exitOnZeroActiveConnections: true } }).pod.spec.terminationGracePeriodSeconds,
      95,
    );
    assert.equal(run({}, { shutdown: { exitOnZeroActiveConnections: true, minimumDrainSeconds: 20 } }).pod.spec.terminationGracePeriodSeconds, 56);
    // Once injected, the proxy's env holds the mesh's settings merged with the pod's.
    const withEnv = (pod: Pod): Pod => {
      const injected = classicInjected(pod);
      const containers = injected.spec.containers.map((c) =>
        c.name === "istio-proxy"
          ? {
              ...c,
              env: [
                { name: "EXIT_ON_ZERO_ACTIVE_CONNECTIONS", value: "true" },
                { name: "MINIMUM_DRAIN_DURATION", value: "15s" },
              ],
            }
          : c,
      );
      return { ...injected, spec: { ...injected.spec, containers } };
    };
    assert.equal(run({}, {}, withEnv).pod.spec.terminationGracePeriodSeconds, 51);
    // The agent reads its own env: it outranks the annotation's proxyMetadata (a ProxyConfig resource may have set it).
    assert.equal(run(metadata('EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "false"'), {}, withEnv).pod.spec.terminationGracePeriodSeconds, 51);
    // Injected, a PROXY_CONFIG without terminationDrainDuration means Istio's 5s, whatever the policy says.
    const withProxyConfig =
      (value: string) =>
      (pod: Pod): Pod => {
        const injected = classicInjected(pod);
        const containers = injected.spec.containers.map((c) => (c.name === "istio-proxy" ? { ...c, env: [{ name: "PROXY_CONFIG", value }] } : c));
        return { ...injected, spec: { ...injected.spec, containers } };
      };
    assert.equal(run({}, { shutdown: { proxyDrainSeconds: 0 } }, withProxyConfig('{"concurrency":2}')).pod.spec.terminationGracePeriodSeconds, 40);
    assert.equal(run({}, {}, withProxyConfig('{"terminationDrainDuration":"20s"}')).pod.spec.terminationGracePeriodSeconds, 55);
  });

  it("warns about a drain setting Istio would not read, and counts what Istio would", () => {
    const run = (config: string) =>
      runMutation(proxyOutlivesApp, classicInjected(appPod({ preStop: sleep30, annotations: { "proxy.istio.io/config": config } })), policy);
    // Istio reads ProxyConfig durations with Go's parser: "1m" is a minute.
    assert.equal(run("terminationDrainDuration: 1m\n").pod.spec.terminationGracePeriodSeconds, 95);
    const soon = run("terminationDrainDuration: soon\n");
    assert.equal(soon.pod.spec.terminationGracePeriodSeconds, 40);
    assert.match(
      soon.warnings.join(),
      /terminationDrainDuration "soon" in proxy\.istio\.io\/config is not a duration Istio reads \(e\.g\. "30s" or "1m"\); counted as the policy's 5s/,
    );
    const bogus = run('proxyMetadata: {EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true", MINIMUM_DRAIN_DURATION: "soon"}\n');
    assert.equal(bogus.pod.spec.terminationGracePeriodSeconds, 41);
    assert.match(bogus.warnings.join(), /MINIMUM_DRAIN_DURATION "soon" .* counted as Istio's default, 5s/);
    assert.match(
      run('proxyMetadata: {EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "yes"}\n').warnings.join(),
      /EXIT_ON_ZERO_ACTIVE_CONNECTIONS "yes" .* not a boolean Istio reads/,
    );
    // proxyMetadata holds strings: a YAML boolean is not read.
    const unquoted = run("proxyMetadata: {EXIT_ON_ZERO_ACTIVE_CONNECTIONS: true}\n");
    assert.equal(unquoted.pod.spec.terminationGracePeriodSeconds, 40);
    assert.match(unquoted.warnings.join(), /EXIT_ON_ZERO_ACTIVE_CONNECTIONS true .* \(a string: "true" or "false"\)/);
  });

  it("counts a native proxy whose preStop is not Istio's drain hook as a classic one, and the annotation as Istio's template reads it", () => {
    const native = nativeInjected(appPod({ preStop: sleep30 }));
    const initContainers = native.spec.initContainers!.map((c) => (c.name === "istio-proxy" ? { ...c, lifecycle: { preStop: { sleep: { seconds: 1 } } } } : c));
    const own = runMutation(proxyOutlivesApp, { ...native, spec: { ...native.spec, initContainers } }, policy);
    assert.equal(own.pod.spec.terminationGracePeriodSeconds, 40);
    const before = (value: string) =>
      runMutation(proxyOutlivesApp, appPod({ preStop: sleep30, annotations: { "sidecar.istio.io/nativeSidecar": value } }), policy);
    assert.equal(before("false").pod.spec.terminationGracePeriodSeconds, 40);
    assert.equal(before("yes").pod.spec.terminationGracePeriodSeconds, 35, 'anything but "false" is native');
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

describe("proxy-outlives-app over generated pods and drain settings", () => {
  // Each ProxyConfig with the drain Istio would wait for, on a classic sidecar, given the mesh's
  // settings (an independent table, not the code under test): under EXIT_ON_ZERO_ACTIVE_CONNECTIONS,
  // the minimum and the first connection check a second later.
  type Mesh = { proxyDrainSeconds: number; exitOnZeroActiveConnections: boolean; minimumDrainSeconds: number };
  const configs: [string | undefined, (mesh: Mesh) => number][] = [
    [undefined, (m) => (m.exitOnZeroActiveConnections ? m.minimumDrainSeconds + 1 : m.proxyDrainSeconds)],
    ["terminationDrainDuration: 30s\n", (m) => (m.exitOnZeroActiveConnections ? m.minimumDrainSeconds + 1 : 30)],
    ['{"terminationDrainDuration":"7.2s"}', (m) => (m.exitOnZeroActiveConnections ? m.minimumDrainSeconds + 1 : 8)],
    ["terminationDrainDuration: 1m\n", (m) => (m.exitOnZeroActiveConnections ? m.minimumDrainSeconds + 1 : 60)],
    ["terminationDrainDuration: soon\n", (m) => (m.exitOnZeroActiveConnections ? m.minimumDrainSeconds + 1 : m.proxyDrainSeconds)],
    ['proxyMetadata: {EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true", MINIMUM_DRAIN_DURATION: "45s"}\n', () => 46],
    ['proxyMetadata: {EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true"}\nterminationDrainDuration: 90s\n', (m) => m.minimumDrainSeconds + 1],
    ['proxyMetadata: {EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "false"}\nterminationDrainDuration: 20s\n', () => 20],
    ["[broken", (m) => (m.exitOnZeroActiveConnections ? m.minimumDrainSeconds + 1 : m.proxyDrainSeconds)],
  ];
  // Each app preStop with the seconds it lasts; one that cannot be read counts as appPreStopSecondsDefault (30 here).
  const preStops: [Container["lifecycle"] | undefined, number][] = [
    [undefined, 0],
    [{ preStop: { sleep: { seconds: 30 } } }, 30],
    [{ preStop: { exec: { command: ["sleep", "20"] } } }, 20],
    [{ preStop: { httpGet: { path: "/stop", port: 8080 } } }, 30],
  ];

  it("the grace period holds the proxy's preStop and its drain, never shrinks, every sleep fits in it, and a second pass changes nothing", () => {
    fc.assert(
      fc.property(
        fc.nat(configs.length - 1),
        fc.nat(preStops.length - 1),
        fc.constantFrom("none", "classic", "native"),
        fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
        fc.record({
          proxyDrainSeconds: fc.integer({ min: 0, max: 60 }),
          exitOnZeroActiveConnections: fc.boolean(),
          minimumDrainSeconds: fc.integer({ min: 0, max: 60 }),
        }),
        fc.integer({ min: 1, max: 10 }),
        fc.constantFrom("sleep", "exec"),
        (configAt, preStopAt, injected, grace, mesh, marginSeconds, proxyPreStopAction) => {
          const [config, drainOf] = configs[configAt]!;
          const [preStop, appSeconds] = preStops[preStopAt]!;
          let pod = appPod({ ...(preStop ? { preStop } : {}), annotations: config === undefined ? {} : { "proxy.istio.io/config": config } });
          if (grace !== undefined) pod = { ...pod, spec: { ...pod.spec, terminationGracePeriodSeconds: grace } };
          pod = injected === "classic" ? classicInjected(pod) : injected === "native" ? nativeInjected(pod) : pod;
          const policy = migratingPolicy({ shutdown: { ...mesh, marginSeconds, proxyPreStopAction, appPreStopSecondsDefault: 30 } });
          const once = runMutation(proxyOutlivesApp, pod, policy);
          const after = once.pod.spec.terminationGracePeriodSeconds ?? 30;
          const drain = injected === "native" ? 0 : drainOf(mesh);
          assert.ok(after >= appSeconds + marginSeconds + drain, `grace ${after} holds ${appSeconds}s + ${marginSeconds}s + ${drain}s`);
          assert.ok(after >= (grace ?? 30), "never shrinks");
          for (const container of [...once.pod.spec.containers, ...(once.pod.spec.initContainers ?? [])]) {
            const seconds = container.lifecycle?.preStop?.sleep?.seconds;
            if (seconds !== undefined) assert.ok(seconds <= after, `${container.name} sleeps ${seconds}s within ${after}s`);
          }
          assert.deepEqual(runMutation(proxyOutlivesApp, once.pod, policy).pod, once.pod);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
