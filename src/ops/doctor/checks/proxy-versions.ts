import * as istioKeys from "../../../keys/istio.js";
import { injectedRevision } from "../../../namespaces/injection.js";
import { proxyImageOf, sameProxyBuild } from "../../../namespaces/revision-injection.js";
import { injectableRevisions } from "../../../namespaces/webhook-configurations.js";
import { findIstioProxy } from "../../../pod/istio-proxy.js";
import { isPodLike } from "../../../pod/types.js";
import { declareCheck, ok, warning } from "../check.js";

const SHOWN = 8;

/** Pods with Istio's sidecar, by the revision that injected them and the image they run, against what that revision injects now. */
export const proxyVersions = declareCheck({
  name: "proxy-versions",
  summary: "pods with Istio's sidecar by the revision that injected them and the proxy image they run",
  errorWhen: "",
  warningWhen:
    "a pod runs another proxy image than its revision injects now (an upgrade not rolled out yet), or was injected by a revision that has no injection webhook any more",
  reads: ["pods", "configurations", "injections"],
  judge({ pods, configurations, injections }) {
    const serving = new Set(injectableRevisions(configurations).values());
    const groups = new Map<string, number>();
    const behind = new Map<string, number>();
    const gone = new Map<string, number>();
    for (const pod of pods) {
      if (!isPodLike(pod)) continue;
      const proxy = findIstioProxy(pod);
      if (!proxy) continue;
      const revision = injectedRevision(pod.metadata.annotations?.[istioKeys.SIDECAR_STATUS]) ?? "unknown";
      const image = proxy.container.image ?? "?";
      groups.set(`${revision} ${image}`, (groups.get(`${revision} ${image}`) ?? 0) + 1);
      if (revision !== "unknown" && !serving.has(revision)) gone.set(revision, (gone.get(revision) ?? 0) + 1);
      const injection = injections.byRevision.get(revision);
      const expected = injection ? proxyImageOf(injection, pod.metadata.annotations ?? {}) : undefined;
      if (expected && !sameProxyBuild(image, expected))
        behind.set(`${revision}: ${image} → ${expected}`, (behind.get(`${revision}: ${image} → ${expected}`) ?? 0) + 1);
    }
    if (groups.size === 0) return ok("no pod runs Istio's sidecar");
    const list = (counts: Map<string, number>) => {
      const sorted = [...counts].sort(([a], [b]) => a.localeCompare(b));
      return `${sorted
        .slice(0, SHOWN)
        .map(([key, n]) => `${key} (${n})`)
        .join(", ")}${sorted.length > SHOWN ? ` and ${sorted.length - SHOWN} more` : ""}`;
    };
    const unread = injections.unread.length > 0 ? `; not compared: ${injections.unread.join("; ")}` : "";
    const findings = [];
    if (behind.size > 0) {
      const count = [...behind.values()].reduce((a, b) => a + b, 0);
      findings.push(
        warning(
          `${count} pod(s) run an older proxy than their revision injects now: ${list(behind)}`,
          "mesh-tailor status --reason proxy-version; mesh-tailor rollout --reason proxy-version --order namespace",
        ),
      );
    }
    if (gone.size > 0) {
      const count = [...gone.values()].reduce((a, b) => a + b, 0);
      findings.push(
        warning(
          `${count} pod(s) were injected by a revision with no injection webhook any more: ${list(gone)}`,
          "mesh-tailor status --reason proxy-version (restart them onto a revision that is installed)",
        ),
      );
    }
    return findings.length > 0 ? findings : ok(`pods by revision and proxy image: ${list(groups)}${unread}`);
  },
});
