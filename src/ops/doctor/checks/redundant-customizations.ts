import type { KubeObject } from "../../../kube/object.js";
import { imageTag, istioMinor, kubeletMinor, nativeSidecarOf, type RevisionInjection } from "../../../namespaces/revision-injection.js";
import type { TailorPolicy } from "../../../policy/schema.js";
import { declareCheck, ok, warning, type Finding } from "../check.js";
import type { Deployment } from "../facts.js";

// What the running Istio and Kubernetes already give of mesh-tailor's customizations, so a team
// knows what it may switch off. Each fact checked in Istio's code at the e2e's pin (1.31):
// native sidecars by default since 1.27 (pkg/kube/inject/webhook.go DetectNativeSidecar), their
// startup probe holding the app (files/injection-template.yaml startupProbe; the kubelet starts
// the next container once it passes), a Service-less pod's locality from its node since 1.20
// (pilot/pkg/serviceregistry/kube/controller/controller.go getPodLocality), and a root-namespace
// Sidecar with no workloadSelector as every namespace's default (pilot/pkg/model/push_context.go).

const REGION = "topology.kubernetes.io/region";
const ZONE = "topology.kubernetes.io/zone";
/** The first Istio minor that takes a Service-less pod's locality from its node. */
const LOCALITY_FROM_NODE_SINCE = 20;

const istiodMinor = (istiod: Deployment): number | undefined => istioMinor(imageTag(istiod.spec?.template?.spec?.containers?.[0]?.image ?? ""));

const kubeletsOf = (nodes: readonly KubeObject[]): string[] =>
  nodes.map((node) => (node["status"] as { nodeInfo?: { kubeletVersion?: string } } | undefined)?.nodeInfo?.kubeletVersion ?? "");

/** Whether every revision injects a native sidecar into a pod that does not ask, and why in words; undefined when it cannot be told. */
function nativeByDefault(injections: ReadonlyMap<string, RevisionInjection>, nodes: readonly KubeObject[] | undefined): string | false | undefined {
  if (injections.size === 0) return undefined;
  const kubelets = nodes ? kubeletsOf(nodes) : undefined;
  const verdicts = [...injections.values()].map((i) => nativeSidecarOf(i, {}, kubelets));
  if (verdicts.some((v) => v === false)) return false;
  if (verdicts.some((v) => v === undefined)) return undefined;
  const auto = [...injections.values()].some((i) => i.nativeSidecars === "auto");
  return auto
    ? `every kubelet is 1.33 or newer (${Math.min(...kubeletsOf(nodes ?? []).map((v) => kubeletMinor(v) ?? 0))} the oldest minor)`
    : "ENABLE_NATIVE_SIDECARS=true";
}

const egressHosts = (sidecar: KubeObject): string[] =>
  ((sidecar["spec"] as { egress?: { hosts?: string[] }[] } | undefined)?.egress ?? []).flatMap((e) => e.hosts ?? []);

/** What of POLICY the cluster gives already: the setting, and why, for each; and what it cannot tell. */
export function givenAlready(
  policy: TailorPolicy,
  facts: {
    injections: ReadonlyMap<string, RevisionInjection>;
    nodes: readonly KubeObject[] | undefined;
    istiods: readonly Deployment[];
    rootSidecars: readonly KubeObject[] | undefined;
  },
): { given: string[]; unknown: string[]; risks: string[] } {
  const given: string[] = [];
  const unknown: string[] = [];
  const risks: string[] = [];
  const native = nativeByDefault(facts.injections, facts.nodes);
  const nativeUses = [
    policy.jobs.nativeSidecar ? "jobs.nativeSidecar" : undefined,
    policy.startup.holdApplicationUntilProxyStarts ? "startup.holdApplicationUntilProxyStarts" : undefined,
  ].filter((u) => u !== undefined);
  if (nativeUses.length > 0 && native === undefined)
    unknown.push(`${nativeUses.join(", ")}: whether Istio injects native sidecars by itself (its injector ConfigMaps or the nodes could not be read)`);
  if (native && policy.jobs.nativeSidecar) given.push(`jobs.nativeSidecar: Istio injects every pod as a native sidecar already (${native}), so Jobs finish`);
  if (native && policy.startup.holdApplicationUntilProxyStarts && [...facts.injections.values()].every((i) => i.startupProbe))
    given.push(`startup.holdApplicationUntilProxyStarts: native sidecars (${native}) with their startup probe hold the app until the proxy is ready`);

  if (policy.locality.enabled) {
    const minors = facts.istiods.map(istiodMinor);
    const labelled = facts.nodes?.every((n) => n.metadata.labels?.[REGION] && n.metadata.labels[ZONE]);
    if (facts.nodes === undefined || minors.length === 0 || minors.some((m) => m === undefined))
      unknown.push("locality: whether istiod reads a Service-less pod's locality from its node (the nodes or istiod's version could not be read)");
    else if (labelled && facts.nodes.length > 0 && minors.every((m) => m! >= LOCALITY_FROM_NODE_SINCE)) {
      given.push(
        `locality: istiod 1.${Math.min(...(minors as number[]))} reads a Service-less pod's locality from its node, and every node has ${REGION} and ${ZONE}`,
      );
      if (policy.locality.default !== "")
        risks.push(
          `locality.default "${policy.locality.default}" is written on pods whose node says otherwise: the pod label wins over the node in istiod, so a pod in another zone gets the wrong locality`,
        );
    }
  }

  const sidecar = policy.namespaces.defaultSidecar;
  if (sidecar.enabled) {
    if (facts.rootSidecars === undefined) unknown.push("namespaces.defaultSidecar: the Sidecars in istio-system could not be read");
    else {
      const wanted = [...sidecar.egressHosts].sort().join(",");
      const meshWide = facts.rootSidecars.find(
        (s) => (s["spec"] as { workloadSelector?: unknown } | undefined)?.workloadSelector === undefined && egressHosts(s).sort().join(",") === wanted,
      );
      if (meshWide)
        given.push(
          `namespaces.defaultSidecar: Sidecar istio-system/${meshWide.metadata.name} has no workloadSelector and the same egress hosts, and is every namespace's default without one of its own`,
        );
    }
  }

  const http10 = policy.defaults.connection?.http10 === true || policy.services.some((s) => s.connection?.http10 === true);
  const pilotHttp10 = (d: Deployment) => d.spec?.template?.spec?.containers?.[0]?.env?.find((e) => e.name === "PILOT_HTTP10")?.value === "true";
  if (http10 && facts.istiods.length > 0 && facts.istiods.every(pilotHttp10))
    given.push("connection.http10: every istiod runs with PILOT_HTTP10=true, which accepts HTTP/1.0 for every proxy");
  return { given, unknown, risks };
}

export const redundantCustomizations = declareCheck({
  name: "redundant-customizations",
  summary: "which of the policy's customizations the running Istio and Kubernetes already give (ones it may switch off)",
  errorWhen: "",
  warningWhen:
    "`locality.default` is set while istiod reads every pod's locality from its labelled node: the pod label mesh-tailor writes wins, wrong for a pod in another zone",
  reads: ["policy", "injections", "nodes", "istiods", "rootSidecars"],
  judge({ policy, injections, nodes, istiods, rootSidecars }) {
    const { given, unknown, risks } = givenAlready(policy.policy.policy, { injections: injections.byRevision, nodes, istiods, rootSidecars });
    const findings: Finding[] = risks.map((risk) => warning(risk, 'set locality.default: "" in the policy (istiod reads the node)'));
    const notTold = unknown.length > 0 ? `; cannot tell: ${unknown.join("; ")}` : "";
    findings.push(
      ok(given.length > 0 ? `given already, may be switched off: ${given.join("; ")}${notTold}` : `nothing the policy turns on is given already${notTold}`),
    );
    return findings;
  },
});
