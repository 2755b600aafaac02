import { declareCheck, ok, warning, type Finding } from "../check.js";
import { gatewayKind, gatewayWorkers } from "../gateway-workers.js";

/** How many Envoy workers each ingress gateway runs: bounded by its CPUs, or by a concurrency it names. */
export const gatewayConcurrency = declareCheck({
  name: "gateway-concurrency",
  summary: "each Istio ingress gateway runs as many Envoy workers as it has CPUs",
  errorWhen: "",
  warningWhen:
    "an ingress gateway Deployment with neither a CPU limit nor `concurrency` (a worker per CPU of its node), `concurrency: 0`, or more workers than its CPU limit: with the number to set",
  reads: ["gatewayCandidates"],
  judge({ gatewayCandidates }) {
    const gateways = gatewayCandidates.flatMap((d) => {
      const kind = gatewayKind(d);
      return kind ? [{ deployment: d, kind }] : [];
    });
    if (gateways.length === 0) return ok("no Istio ingress gateway Deployment");
    return gateways
      .sort((a, b) =>
        `${a.deployment.metadata.namespace}/${a.deployment.metadata.name}`.localeCompare(`${b.deployment.metadata.namespace}/${b.deployment.metadata.name}`),
      )
      .map(({ deployment, kind }): Finding => {
        const name = `Deployment ${deployment.metadata.namespace ?? "default"}/${deployment.metadata.name}`;
        const workers = gatewayWorkers(deployment, kind);
        if (workers.kind === "ok") return ok(`${name}: ${workers.workers} Envoy worker(s), from ${workers.from}`);
        return warning(`${name}: ${workers.problem}`, workers.fix);
      });
  },
});
