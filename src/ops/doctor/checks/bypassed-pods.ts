import * as meshTailor from "../../../keys/mesh-tailor.js";
import { isEnabled } from "../../../namespaces/namespace-labels.js";
import { bypassOf, type BypassKind } from "../../bypass.js";
import { declareCheck, ok, warning } from "../check.js";

const SHOWN = 10;

interface Found {
  readonly namespace: string;
  readonly kind: BypassKind;
}

/** The fix for each kind of bypass FOUND: commands that run as printed, each followed by why. */
function fixFor(found: readonly Found[]): string {
  const fixes: string[] = [];
  const untailoredIn = [...new Set(found.filter((f) => f.kind === "untailored").map((f) => f.namespace))];
  if (untailoredIn.length > 0) {
    const scope = untailoredIn.length === 1 ? ` --namespace ${untailoredIn[0]}` : "";
    fixes.push(`mesh-tailor rollout${scope}   (admitted while the webhook was down or before the namespace was enabled: a restart tailors them)`);
  }
  if (found.some((f) => f.kind === "skip-label")) {
    fixes.push(
      `kubectl get pods -A -l ${meshTailor.SKIP}=true   (to tailor them, take the label off their workloads' pod templates; the rollback reaches them either way)`,
    );
  }
  return fixes.join("; ");
}

/** Pods in enabled namespaces that run Istio's proxy without mesh-tailor's tailoring. */
export const bypassedPods = declareCheck({
  name: "bypassed-pods",
  summary: "pods in enabled namespaces that Istio injected without mesh-tailor's tailoring",
  errorWhen: "",
  warningWhen: `pods in enabled namespaces with Istio's proxy and no \`${meshTailor.TAILORING}\` record: labelled \`${meshTailor.SKIP}: "true"\`, or admitted without mesh-tailor (the first ${SHOWN} named, and how many more)`,
  reads: ["namespaces", "pods"],
  judge({ namespaces, pods }) {
    const enabled = new Set(namespaces.filter(isEnabled).map((ns) => ns.metadata.name));
    const found = pods
      .filter((pod) => enabled.has(pod.metadata.namespace ?? ""))
      .flatMap((pod) => {
        const bypass = bypassOf(pod);
        return bypass ? [{ namespace: pod.metadata.namespace ?? "", name: `${pod.metadata.namespace}/${pod.metadata.name}`, ...bypass }] : [];
      })
      .sort((a, b) => a.name.localeCompare(b.name));
    if (found.length === 0) return ok("no pod in an enabled namespace runs Istio's proxy without mesh-tailor's tailoring");
    const shown = found.slice(0, SHOWN).map((b) => `${b.name} (${b.text})`);
    const more = found.length > SHOWN ? `, and ${found.length - SHOWN} more` : "";
    return warning(`${found.length} pod(s) in enabled namespaces run Istio's proxy without mesh-tailor's tailoring: ${shown.join(", ")}${more}`, fixFor(found));
  },
});
