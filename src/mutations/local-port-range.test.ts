import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appPod, classicInjected, migratingPolicy, policyWith } from "../../test/fixtures/pods.js";
import { runMutation } from "../../test/fixtures/context.js";
import { policyProblems } from "../../test/fixtures/policy-problems.js";
import { loadPolicy } from "../policy/load.js";
import type { Pod } from "../pod/types.js";
import { localPortRange, PORT_RANGE_SYSCTL } from "./local-port-range.js";

const sysctlsOf = (pod: Pod): unknown => (pod.spec["securityContext"] as { sysctls?: unknown } | undefined)?.sysctls;
const withSysctl = (pod: Pod, value: string, extra: Record<string, unknown> = {}): Pod => ({
  ...pod,
  spec: {
    ...pod.spec,
    securityContext: {
      runAsNonRoot: true,
      ...extra,
      sysctls: [
        { name: "kernel.shm_rmid_forced", value: "1" },
        { name: PORT_RANGE_SYSCTL, value },
      ],
    },
  },
});

describe("connection.localPortRange: the pod sysctl net.ipv4.ip_local_port_range", () => {
  const perService = migratingPolicy({ services: [{ namespace: "*", name: "reviews", connection: { localPortRange: "15100-65000" } }] }, []);

  it("writes the service's range, else the defaults', as the kernel reads it, keeping the pod's other sysctls and security settings", () => {
    const result = runMutation(localPortRange, classicInjected(appPod()), perService);
    assert.deepEqual(sysctlsOf(result.pod), [{ name: PORT_RANGE_SYSCTL, value: "15100 65000" }]);
    assert.equal(result.inForce, true);
    const defaults = policyWith({ defaults: { connection: { localPortRange: "20000-60999" } }, services: [{ name: "reviews" }] });
    const pod = { ...appPod(), spec: { ...appPod().spec, securityContext: { runAsNonRoot: true, sysctls: [{ name: "kernel.shm_rmid_forced", value: "1" }] } } };
    assert.deepEqual(runMutation(localPortRange, pod, defaults).pod.spec["securityContext"], {
      runAsNonRoot: true,
      sysctls: [
        { name: "kernel.shm_rmid_forced", value: "1" },
        { name: PORT_RANGE_SYSCTL, value: "20000 60999" },
      ],
    });
  });

  it("keeps the pod's own range, with a warning when it differs, and changes nothing a second time", () => {
    const own = runMutation(localPortRange, withSysctl(appPod(), "1024 14999"), perService);
    assert.deepEqual(sysctlsOf(own.pod), sysctlsOf(withSysctl(appPod(), "1024 14999")));
    assert.match(own.warnings.join(), /kept net\.ipv4\.ip_local_port_range="1024 14999" as set on the pod; the policy says "15100 65000"/);
    const same = runMutation(localPortRange, withSysctl(appPod(), "15100\t65000"), perService);
    assert.deepEqual(same.warnings, []);
    assert.equal(same.inForce, true);
    const once = runMutation(localPortRange, appPod(), perService).pod;
    assert.equal(runMutation(localPortRange, once, perService).pod, once);
  });

  it("leaves a pod on the host's network alone (never selected: Kubernetes refuses net.* sysctls there), and does nothing without a range", () => {
    const host = { ...appPod(), spec: { ...appPod().spec, hostNetwork: true } };
    assert.equal(runMutation(localPortRange, host, perService).pod, host);
    const none = appPod();
    assert.equal(runMutation(localPortRange, none, migratingPolicy()).pod, none);
  });

  it("refuses a range the kernel or Istio's proxy would not live with, saying what to write", () => {
    const refusal = (range: string) => policyProblems(`defaults:\n  connection: {localPortRange: "${range}"}\n`);
    assert.match(refusal("1024 65535"), /must be "LOW-HIGH"/);
    assert.match(refusal("80-9000"), /1024 <= LOW < HIGH <= 65535/);
    assert.match(refusal("40000-30000"), /1024 <= LOW < HIGH <= 65535/);
    assert.match(refusal("1024-65535"), /must leave out Istio's ports 15000-15090/);
    assert.match(refusal("15090-20000"), /Istio's ports/);
    assert.equal(
      loadPolicy(`apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\ndefaults:\n  connection: {localPortRange: "15091-65535"}\n`).policy.defaults
        .connection?.localPortRange,
      "15091-65535",
    );
  });
});
