import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../kube/object.js";
import { selectorMatches } from "../kube/label-selector.js";
import { authorizationProblem, httpFieldsOf, nodeAgentProblem, nodeAgents, waypointProblem } from "./ambient-gates.js";

const pod = (name: string, node: string | undefined, labels: Record<string, string>, ready = true): KubeObject => ({
  metadata: { name, namespace: "istio-system", labels },
  spec: node ? { nodeName: node } : {},
  status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});
const gateway = (name: string, className: string, programmed?: { status: string; reason?: string }): KubeObject => ({
  metadata: { name, namespace: "shop" },
  spec: { gatewayClassName: className },
  status: programmed ? { conditions: [{ type: "Programmed", ...programmed }] } : {},
});
const policy = (name: string, spec: Record<string, unknown>, namespace = "shop"): KubeObject => ({ metadata: { name, namespace }, spec });

describe("the gates an ambient service's restart passes", () => {
  it("needs a ready ztunnel and istio-cni on every node its pods run on, or on one at least before they run", () => {
    const ready = nodeAgents([
      pod("ztunnel-a", "node-a", { app: "ztunnel" }),
      pod("cni-a", "node-a", { "k8s-app": "istio-cni-node" }),
      pod("ztunnel-b", "node-b", { app: "ztunnel" }, false),
      pod("cni-b", "node-b", { "k8s-app": "istio-cni-node" }),
      pod("other", "node-c", { app: "reviews" }),
    ]);
    assert.deepEqual([...ready.ztunnel], ["node-a"]);
    assert.deepEqual([...ready["istio-cni"]].sort(), ["node-a", "node-b"]);
    assert.equal(nodeAgentProblem(ready, ["node-a", "node-a"]), undefined);
    assert.equal(nodeAgentProblem(ready, []), undefined);
    assert.match(
      nodeAgentProblem(ready, ["node-a", "node-b"])!,
      /^no ztunnel is ready on node\(s\) node-b, where its pods run: its pods would have no mesh in ambient/,
    );
    assert.match(
      nodeAgentProblem({ ztunnel: new Set(), "istio-cni": new Set() }, [])!,
      /no ztunnel is ready in the cluster \(pods labelled app=ztunnel\), and no istio-cni is ready in the cluster \(pods labelled k8s-app=istio-cni-node\)/,
    );
  });

  it("needs its waypoint to exist, be of class istio-waypoint and be Programmed", () => {
    const gateways = [
      gateway("ready", "istio-waypoint", { status: "True" }),
      gateway("waiting", "istio-waypoint", { status: "False", reason: "AddressNotAssigned" }),
      gateway("ingress", "istio"),
    ];
    assert.equal(waypointProblem(gateways, "shop", "ready"), undefined);
    assert.match(waypointProblem(gateways, "shop", "waiting")!, /is not Programmed \(AddressNotAssigned\)/);
    assert.match(waypointProblem(gateways, "shop", "ingress")!, /of class "istio", not istio-waypoint/);
    assert.match(
      waypointProblem(gateways, "shop", "missing")!,
      /Gateway shop\/missing, does not exist \(create it, e\.g\. istioctl waypoint apply -n shop --name missing\)/,
    );
    assert.match(waypointProblem(gateways, "other", "ready")!, /does not exist/);
    assert.match(waypointProblem(undefined, "shop", "ready")!, /forbidden/);
  });

  it("finds the HTTP fields ztunnel cannot enforce, and only those", () => {
    assert.deepEqual(
      httpFieldsOf([
        { to: [{ operation: { methods: ["GET"], ports: ["8080"] } }], from: [{ source: { principals: ["a"], requestPrincipals: ["*"] } }] },
        { when: [{ key: "source.ip" }, { key: "request.headers[x-user]" }] },
      ]),
      ["from.source.requestPrincipals", "to.operation.methods", "when request.headers[x-user]"],
    );
    assert.deepEqual(httpFieldsOf([{ to: [{ operation: { ports: ["8080"], methods: [] } }], from: [{ source: { namespaces: ["shop"] } }] }]), []);
  });

  it("refuses an AuthorizationPolicy that selects the pods with HTTP rules, saying what ztunnel would do with an ALLOW and a DENY", () => {
    const labels = { app: "reviews", "istio.io/dataplane-mode": "ambient" };
    const http = { rules: [{ to: [{ operation: { paths: ["/admin"] } }] }] };
    const policies = [
      policy("allow-http", { selector: { matchLabels: { app: "reviews" } }, ...http }),
      policy("deny-http", { selector: { matchLabels: { app: "reviews" } }, action: "DENY", ...http }),
      policy("l4-only", { selector: { matchLabels: { app: "reviews" } }, rules: [{ to: [{ operation: { ports: ["9080"] } }] }] }),
      policy("other-app", { selector: { matchLabels: { app: "ratings" } }, ...http }),
      policy("on-waypoint", { targetRefs: [{ kind: "Service", name: "reviews" }], selector: { matchLabels: { app: "reviews" } }, ...http }),
      policy("custom", { selector: { matchLabels: { app: "reviews" } }, action: "CUSTOM", ...http }),
      policy("elsewhere", { selector: { matchLabels: { app: "reviews" } }, ...http }, "other"),
      policy("other-namespace-wide", http, "other"),
    ];
    const problem = authorizationProblem(policies, "shop", labels, selectorMatches)!;
    assert.match(
      problem,
      /AuthorizationPolicy shop\/allow-http selects its pods and has HTTP rules \(to\.operation\.paths\): ztunnel drops those rules from an ALLOW policy/,
    );
    assert.match(problem, /AuthorizationPolicy shop\/deny-http .*denies more than it says/);
    for (const name of ["l4-only", "other-app", "on-waypoint", "custom", "elsewhere", "other-namespace-wide"])
      assert.doesNotMatch(problem, new RegExp(`/${name} `));
    // ztunnel enforces a namespace-wide policy, and a mesh-wide one from the root namespace, the same way.
    const wide = authorizationProblem([policy("namespace-wide", http), policy("mesh-wide", http, "istio-system")], "shop", labels, selectorMatches)!;
    assert.match(wide, /AuthorizationPolicy shop\/namespace-wide applies to its whole namespace and has HTTP rules/);
    assert.match(wide, /AuthorizationPolicy istio-system\/mesh-wide applies mesh-wide and has HTTP rules/);
    assert.equal(authorizationProblem([], "shop", labels, selectorMatches), undefined);
    assert.match(authorizationProblem(undefined, "shop", labels, selectorMatches)!, /forbidden/);
  });
});
