import { declareCheck, error, ok, warning } from "../check.js";

/** gitVersion "v1.34.4" (or "v1.30.2-gke.1") as [major, minor]; undefined when not a release. */
export function kubernetesMinor(gitVersion: string): [number, number] | undefined {
  const match = /^v(\d+)\.(\d+)\./.exec(gitVersion);
  // v0.0.0-master is what a build without Kubernetes' version ldflags reports.
  return match && match[1] !== "0" ? [Number(match[1]), Number(match[2])] : undefined;
}

// Where a feature the policy asks for is on by default (Kubernetes feature gates):
// the sleep lifecycle action, KEP-3960, beta in 1.30; native sidecars, KEP-753, beta in 1.29.
const SLEEP_ACTION_MINOR = 30;
const NATIVE_SIDECAR_MINOR = 29;

export const kubernetesVersion = declareCheck({
  name: "kubernetes-version",
  summary: "the API server has what the policy asks for (the sleep lifecycle action, native sidecars)",
  errorWhen:
    "the API server lacks what the policy asks for: the sleep lifecycle action (beta, on by default, in 1.30, KEP-3960) or native sidecars (1.29, KEP-753)",
  warningWhen: "not a release version",
  reads: ["serverVersion", "policy"],
  judge({ serverVersion, policy }) {
    const version = kubernetesMinor(serverVersion);
    if (!version) return warning(`the API server reports ${serverVersion}, not a release version: cannot tell which features it has`, "kubectl version");
    const { shutdown, jobs } = policy.policy.policy;
    const needs: [string, number, string][] = [];
    if (shutdown.enabled && shutdown.proxyPreStopAction === "sleep")
      needs.push([
        "the sleep lifecycle action (shutdown.proxyPreStopAction: sleep)",
        SLEEP_ACTION_MINOR,
        "set shutdown.proxyPreStopAction: exec in the policy, or upgrade Kubernetes",
      ]);
    if (jobs.nativeSidecar)
      needs.push(["native sidecars (jobs.nativeSidecar: true)", NATIVE_SIDECAR_MINOR, "set jobs.nativeSidecar: false in the policy, or upgrade Kubernetes"]);
    const minor = version[0] > 1 ? Number.POSITIVE_INFINITY : version[1];
    const lacking = needs.filter(([, since]) => minor < since);
    if (lacking.length > 0)
      return error(
        `${serverVersion} lacks ${lacking.map(([what, since]) => `${what}, on by default since 1.${since}`).join("; ")}`,
        lacking.map(([, , fix]) => fix).join("; "),
      );
    return ok(`${serverVersion}${needs.length ? `: has ${needs.map(([what]) => what).join(" and ")}` : ""}`);
  },
});
