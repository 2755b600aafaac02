import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../../kube/object.js";
import { clusterDnsPods, isNodeLocalDns, usesClusterDns } from "./cluster-dns.js";

const pod = (name: string, spec: Record<string, unknown>, phase = "Running"): KubeObject => ({
  metadata: { name, namespace: "shop" },
  spec: { containers: [{ name: "app" }], ...spec },
  status: { phase },
});

describe("pods that ask the cluster DNS Service, and NodeLocal DNSCache", () => {
  it("count ClusterFirst (the default) on the pod network and ClusterFirstWithHostNet; not Default, None, or host-network ClusterFirst", () => {
    assert.equal(usesClusterDns(pod("a", {})), true);
    assert.equal(usesClusterDns(pod("a", { dnsPolicy: "ClusterFirst" })), true);
    assert.equal(usesClusterDns(pod("a", { dnsPolicy: "ClusterFirstWithHostNet", hostNetwork: true })), true);
    assert.equal(usesClusterDns(pod("a", { dnsPolicy: "ClusterFirst", hostNetwork: true })), false);
    assert.equal(usesClusterDns(pod("a", { dnsPolicy: "Default" })), false);
    assert.equal(usesClusterDns(pod("a", { dnsPolicy: "None" })), false);
    assert.deepEqual(clusterDnsPods([pod("b", {}), pod("a", {}), pod("done", {}, "Succeeded")]), ["shop/a", "shop/b"]);
  });

  it("find the cache by the upstream addon's and kubespray's names or k8s-app labels", () => {
    assert.ok(isNodeLocalDns({ metadata: { name: "node-local-dns", namespace: "kube-system" } }));
    assert.ok(isNodeLocalDns({ metadata: { name: "nodelocaldns", namespace: "kube-system" } }));
    assert.ok(isNodeLocalDns({ metadata: { name: "dns-cache", labels: { "k8s-app": "node-local-dns" } } }));
    assert.ok(!isNodeLocalDns({ metadata: { name: "kube-proxy", labels: { "k8s-app": "kube-proxy" } } }));
  });
});
