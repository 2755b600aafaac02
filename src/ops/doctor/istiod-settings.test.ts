import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Deployment, EnvVar } from "./facts.js";
import { autoPushThrottle, istiodEnv, judgeIstiod } from "./istiod-settings.js";
import type { MeshSize } from "./mesh-size.js";

const istiod = (env: EnvVar[] = [], options: { limit?: string; envFrom?: boolean; replicas?: number } = {}): Deployment => ({
  metadata: { name: "istiod", namespace: "istio-system" },
  spec: {
    replicas: options.replicas ?? 2,
    template: {
      spec: {
        containers: [
          {
            name: "discovery",
            env,
            ...(options.envFrom ? { envFrom: [{ configMapRef: { name: "istiod-env" } }] } : {}),
            ...(options.limit ? { resources: { limits: { cpu: options.limit } } } : {}),
          },
        ],
      },
    },
  },
});
const CHART_GOMAXPROCS: EnvVar = { name: "GOMAXPROCS", valueFrom: { resourceFieldRef: { resource: "limits.cpu", divisor: "1" } } };
const size = (services: number, proxiedPods: number): MeshSize => ({ services, proxiedPods, namespaces: 40 });
const names = (d: Deployment, s: MeshSize) => judgeIstiod(d, s)!.advice.map((a) => a.name);

describe("istiod's push settings at scale", () => {
  it("advise nothing below Istio's load-tested mesh (1,000 Services, 2,000 pods with a proxy)", () => {
    assert.deepEqual(names(istiod(), size(999, 1_999)), []);
  });

  it("past 1,000 Services: gateway cluster filtering and the debounce pair, with the value to set and the default it is at", () => {
    const judged = judgeIstiod(istiod(), size(2_000, 10))!;
    assert.deepEqual(
      judged.advice.map((a) => [a.name, a.value, a.now]),
      [
        ["PILOT_FILTER_GATEWAY_CLUSTER_CONFIG", "true", "unset, false"],
        ["PILOT_DEBOUNCE_AFTER", "500ms", "unset, 100ms"],
        ["PILOT_DEBOUNCE_MAX", "3s", "unset, 10s"],
      ],
    );
    assert.match(judged.advice[0]!.why, /a cluster for each of the 2,000 Services/);
    assert.equal(judged.container, "discovery");
  });

  it("past 2,000 pods with a proxy: the push throttle too, with what the automatic value is on istiod's CPUs", () => {
    const judged = judgeIstiod(istiod([CHART_GOMAXPROCS], { limit: "4", replicas: 2 }), size(10, 4_000))!;
    assert.deepEqual(
      judged.advice.map((a) => a.name),
      ["PILOT_PUSH_THROTTLE", "PILOT_DEBOUNCE_AFTER", "PILOT_DEBOUNCE_MAX"],
    );
    assert.match(judged.advice[0]!.why, /~2,000 proxies per replica only 35 \(min\(15 \+ 5 x 4 CPUs, 100\)\) at a time/);
    assert.match(judgeIstiod(istiod(), size(10, 4_000))!.advice[0]!.why, /the node's CPUs/, "no CPU limit: GOMAXPROCS is the node's");
  });

  it("leave the throttle alone when set, or when istiod's CPUs already give the automatic cap of 100", () => {
    assert.equal(autoPushThrottle(17), 100);
    assert.ok(!names(istiod([{ name: "PILOT_PUSH_THROTTLE", value: "200" }]), size(10, 4_000)).includes("PILOT_PUSH_THROTTLE"));
    assert.ok(!names(istiod([CHART_GOMAXPROCS], { limit: "17" }), size(10, 4_000)).includes("PILOT_PUSH_THROTTLE"));
    assert.ok(!names(istiod([{ name: "GOMAXPROCS", value: "32" }]), size(10, 4_000)).includes("PILOT_PUSH_THROTTLE"));
    assert.ok(names(istiod([{ name: "PILOT_PUSH_THROTTLE", value: "0" }], { limit: "2" }), size(10, 4_000)).includes("PILOT_PUSH_THROTTLE"));
  });

  it("read values as Istio's env package does: a value Go cannot parse is the default; any other value is the operator's", () => {
    const tuned = istiod([
      { name: "PILOT_FILTER_GATEWAY_CLUSTER_CONFIG", value: "True" },
      { name: "PILOT_DEBOUNCE_AFTER", value: "0.5s" },
      { name: "PILOT_DEBOUNCE_MAX", value: "5s" },
    ]);
    assert.deepEqual(names(tuned, size(3_000, 10)), []);
    const typos = istiod([
      { name: "PILOT_FILTER_GATEWAY_CLUSTER_CONFIG", value: "yes" },
      { name: "PILOT_DEBOUNCE_AFTER", value: "500" },
      { name: "PILOT_DEBOUNCE_MAX", value: "10000ms" },
    ]);
    const judged = judgeIstiod(typos, size(3_000, 10))!;
    assert.deepEqual(
      judged.advice.map((a) => a.now),
      ['"yes", read as the default false', '"500", read as the default 100ms', '"10000ms", read as the default 10s'],
    );
  });

  it("do not judge what the Deployment does not show: valueFrom, or envFrom that may set it", () => {
    const fromConfigMap = istiod([{ name: "PILOT_DEBOUNCE_MAX", valueFrom: { configMapKeyRef: { name: "x", key: "y" } } }]);
    const judged = judgeIstiod(fromConfigMap, size(3_000, 10))!;
    assert.deepEqual(judged.unseen, ["PILOT_DEBOUNCE_MAX"]);
    assert.ok(!judged.advice.some((a) => a.name === "PILOT_DEBOUNCE_MAX"));
    assert.deepEqual(judgeIstiod(istiod([], { envFrom: true }), size(3_000, 10))!.advice, []);
    assert.equal(judgeIstiod({ metadata: { name: "istiod" }, spec: { template: { spec: { containers: [] } } } }, size(3_000, 10)), undefined);
  });

  it("take the last of two variables of one name, as Kubernetes does", () => {
    const env = istiodEnv(
      istiod([
        { name: "PILOT_DEBOUNCE_MAX", value: "3s" },
        { name: "PILOT_DEBOUNCE_MAX", value: "10s" },
      ]),
    )!;
    assert.equal(env.values.get("PILOT_DEBOUNCE_MAX"), "10s");
  });
});
