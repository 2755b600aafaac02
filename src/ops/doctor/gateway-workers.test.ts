import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Deployment } from "./facts.js";
import { cpuCores, gatewayKind, gatewayWorkers } from "./gateway-workers.js";

const gateway = (
  options: { limit?: string; request?: string; proxyConfig?: string; labels?: Record<string, string>; templates?: string } = {},
): Deployment => ({
  metadata: { name: "istio-ingressgateway", namespace: "istio-system", labels: options.labels ?? { istio: "ingressgateway" } },
  spec: {
    template: {
      metadata: {
        annotations: {
          ...(options.templates === "" ? {} : { "inject.istio.io/templates": options.templates ?? "gateway" }),
          ...(options.proxyConfig ? { "proxy.istio.io/config": options.proxyConfig } : {}),
        },
      },
      spec: {
        containers: [
          {
            name: "istio-proxy",
            image: "auto",
            resources: { ...(options.limit ? { limits: { cpu: options.limit } } : {}), ...(options.request ? { requests: { cpu: options.request } } : {}) },
          },
        ],
      },
    },
  },
});

describe("an ingress gateway's Envoy workers", () => {
  it("read CPU quantities as Kubernetes writes them", () => {
    assert.equal(cpuCores("2"), 2);
    assert.equal(cpuCores("1500m"), 1.5);
    assert.equal(cpuCores("0.5"), 0.5);
    assert.equal(cpuCores("1e3"), 1000);
    assert.equal(cpuCores("1e3m"), undefined);
    assert.equal(cpuCores("2k"), 2000);
    assert.equal(cpuCores("two"), undefined);
    assert.equal(cpuCores(undefined), undefined);
  });

  it("find the gateway chart's gateways and istiod's Gateway API ones; not egress gateways, waypoints or istiod", () => {
    assert.equal(gatewayKind(gateway()), "injected");
    assert.equal(gatewayKind(gateway({ templates: "gateway,custom" })), "injected");
    assert.equal(gatewayKind(gateway({ labels: { istio: "egressgateway" } })), undefined);
    assert.equal(gatewayKind(gateway({ labels: { istio: "pilot" }, templates: "" })), undefined);
    const managed = { "gateway.istio.io/managed": "istio.io-gateway-controller", "gateway.networking.k8s.io/gateway-class-name": "istio" };
    assert.equal(gatewayKind(gateway({ labels: managed, templates: "" })), "gateway-api");
    assert.equal(gatewayKind(gateway({ labels: { ...managed, "gateway.networking.k8s.io/gateway-class-name": "istio-waypoint" }, templates: "" })), undefined);
  });

  it("are its CPU limit rounded up, as ISTIO_CPU_LIMIT gives them", () => {
    assert.deepEqual(gatewayWorkers(gateway({ limit: "1500m" }), "injected"), {
      kind: "ok",
      workers: 2,
      from: "its CPU limit 1.5, rounded up (ISTIO_CPU_LIMIT)",
    });
  });

  it("with no CPU limit and no concurrency, are the node's: set its request rounded up, at least the chart's 2, with the command", () => {
    const none = gatewayWorkers(gateway({ request: "100m" }), "injected");
    assert.equal(none.kind, "warning");
    assert.match(none.kind === "warning" ? none.problem : "", /a worker per allocatable CPU of whichever node .* a request of 0.1 CPU; set 2$/);
    assert.match(
      none.kind === "warning" ? none.fix : "",
      /^kubectl -n istio-system set resources deployment istio-ingressgateway -c istio-proxy --limits=cpu=2 {3}/,
    );
    const big = gatewayWorkers(gateway({ request: "3500m" }), "injected");
    assert.match(big.kind === "warning" ? big.problem : "", /set 4$/);
    const managed = gatewayWorkers(gateway(), "gateway-api");
    assert.match(managed.kind === "warning" ? managed.fix : "", /parametersRef/);
  });

  it("follow an explicit concurrency, but warn at 0 (every hardware thread) and above the CPU limit", () => {
    assert.deepEqual(gatewayWorkers(gateway({ proxyConfig: "concurrency: 4" }), "injected"), {
      kind: "ok",
      workers: 4,
      from: "proxy.istio.io/config concurrency",
    });
    const zero = gatewayWorkers(gateway({ proxyConfig: '{"concurrency": 0}', limit: "2" }), "injected");
    assert.match(zero.kind === "warning" ? zero.problem : "", /^concurrency 0: .* throttled to its CPU limit of 2; set 2$/);
    assert.match(zero.kind === "warning" ? zero.fix : "", /kubectl -n istio-system edit deployment istio-ingressgateway/);
    const over = gatewayWorkers(gateway({ proxyConfig: "concurrency: 8", limit: "2" }), "injected");
    assert.match(over.kind === "warning" ? over.problem : "", /^concurrency 8 on a CPU limit of 2: .*; set 2$/);
    assert.equal(gatewayWorkers(gateway({ proxyConfig: "concurrency: [", limit: "2" }), "injected").kind, "ok", "an unreadable annotation: the limit decides");
  });
});
