import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appPod, migratingPolicy, policyWith } from "../../test/fixtures/pods.js";
import { runMutation } from "../../test/fixtures/context.js";
import { sandboxBranch } from "./sandbox-branch.js";

const branch = (r: ReturnType<typeof runMutation>, key = "branch") => r.pod.metadata?.labels?.[key];

describe("sandbox-branch: every workload carries its branch", () => {
  it("labels a pod in a sandbox namespace with the sandbox's branch", () => {
    const result = runMutation(sandboxBranch, appPod(), policyWith(), "sm-verify--box-10326");
    assert.equal(branch(result), "box-10326");
    assert.equal(result.inForce, true);
  });

  it("labels every other pod, selected or not, with the default branch", () => {
    assert.equal(branch(runMutation(sandboxBranch, appPod(), migratingPolicy(), "shop")), "master");
    assert.equal(branch(runMutation(sandboxBranch, appPod({ name: "ratings" }), migratingPolicy(), "shop")), "master");
  });

  it("keeps a different branch the user set, with a warning", () => {
    const result = runMutation(sandboxBranch, appPod({ labels: { branch: "box-1" } }), policyWith(), "shop--box-2");
    assert.equal(branch(result), "box-1");
    assert.match(result.warnings[0]!, /kept branch="box-1"/);
  });

  it("uses the configured label key, pattern and default branch", () => {
    const policy = policyWith({
      sandbox: { labelKey: "example.com/branch", namespacePattern: "^sbx-(?<branch>[a-z0-9]+)$", defaultBranch: "main", autoEnable: false },
    });
    assert.equal(branch(runMutation(sandboxBranch, appPod(), policy, "sbx-feat1"), "example.com/branch"), "feat1");
    assert.equal(branch(runMutation(sandboxBranch, appPod(), policy, "shop--box-1"), "example.com/branch"), "main");
  });

  it("takes base and branch from a pattern's named groups, in a namespace as long as Kubernetes allows, and never tries a longer one", () => {
    const policy = policyWith({ sandbox: { namespacePattern: "^(?<base>[a-z0-9-]+?)--(?<branch>feat-[a-z0-9]+)$" } });
    const longest = `${"s".repeat(50)}--feat-abcdef`;
    assert.equal(longest.length, 63);
    assert.equal(branch(runMutation(sandboxBranch, appPod(), policy, longest)), "feat-abcdef");
    assert.equal(branch(runMutation(sandboxBranch, appPod(), policy, `s${longest}`)), "master");
  });

  it("can be turned off", () => {
    const pod = appPod();
    assert.equal(runMutation(sandboxBranch, pod, policyWith({ sandbox: { enabled: false } }), "shop--box-1").pod, pod);
  });
});
