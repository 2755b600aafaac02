import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { builtInPolicy, loadPolicy, PolicyError } from "./load.js";

const HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n";

function problemsOf(text: string): string[] {
  try {
    loadPolicy(text, "test.yaml");
  } catch (error) {
    assert.ok(error instanceof PolicyError);
    return [...error.problems];
  }
  assert.fail("expected the policy to be refused");
}

describe("loadPolicy", () => {
  it("accepts the built-in policy, which migrates nothing", () => {
    const { policy } = builtInPolicy();
    assert.equal(policy.mesh.enabled, true);
    assert.equal(policy.defaults.inject, false);
    assert.deepEqual(policy.services, []);
    assert.equal(policy.shutdown.marginSeconds, 5);
    assert.equal(policy.sandbox.labelKey, "branch");
  });

  it("fills every default from a two-line policy", () => {
    const { policy } = loadPolicy(HEADER);
    assert.deepEqual(policy.mesh.serviceLabelKeys, ["app.kubernetes.io/name", "app"]);
    assert.equal(policy.startup.holdApplicationUntilProxyStarts, true);
    assert.equal(policy.shutdown.appPreStopSecondsDefault, 30);
    assert.equal(policy.jobs.nativeSidecar, false);
  });

  it("reads the contract example from the README, entry defaults included", () => {
    const { policy } = loadPolicy(
      `${HEADER}services:\n  - namespace: "shop*"\n    name: reviews\n    revision: canary\n    hostPassthrough: both\n    proxyResources: {cpu: 500m, memory: 300Mi, cpuLimit: "", memoryLimit: ""}\n`,
    );
    assert.deepEqual(policy.services[0], {
      namespace: "shop*",
      name: "reviews",
      inject: true,
      revision: "canary",
      hostPassthrough: "both",
      proxyResources: { cpu: "500m", memory: "300Mi", cpuLimit: "", memoryLimit: "" },
    });
  });

  it("names the field and the reason for each problem", () => {
    const problems = problemsOf(
      `${HEADER}mesh:\n  enabled: "yes"\nservices:\n  - name: reviews\n    hostPassthrough: sideways\n    proxyResources: {cpu: lots}\nshutdown:\n  marginSeconds: -1\n`,
    );
    assert.ok(
      problems.some((p) => p.startsWith("mesh.enabled:")),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => p.startsWith("services[0].hostPassthrough:") && p.includes("outbound")),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => p.startsWith("services[0].proxyResources.cpu:") && p.includes("quantity")),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => p.startsWith("shutdown.marginSeconds:")),
      problems.join("\n"),
    );
  });

  it("refuses unknown fields, so a typo cannot silently do nothing", () => {
    const problems = problemsOf(`${HEADER}mesh:\n  enabeld: false\n`);
    assert.deepEqual(problems, ['mesh: unknown field "enabeld" (check the spelling against `mesh-tailor policy default`)']);
  });

  it("refuses the wrong apiVersion and kind", () => {
    const problems = problemsOf("apiVersion: v1\nkind: ConfigMap\n");
    assert.ok(problems.some((p) => p.startsWith("apiVersion:")));
    assert.ok(problems.some((p) => p.startsWith("kind:")));
  });

  it("says where YAML is broken", () => {
    const [problem] = problemsOf(`${HEADER}services: [\n`);
    assert.match(problem!, /not valid YAML at line \d+, column \d+/);
  });

  it("refuses duplicate keys rather than keeping the last one", () => {
    const [problem] = problemsOf(`${HEADER}mesh:\n  enabled: true\n  enabled: false\n`);
    assert.equal(problem, 'not valid YAML at line 5, column 3: the key "enabled" appears twice in one mapping');
  });

  it("refuses a document that is not a mapping", () => {
    assert.match(problemsOf("- a\n- b\n")[0]!, /must be a mapping/);
  });

  it("refuses a sandbox pattern that does not compile or captures no branch", () => {
    assert.match(problemsOf(`${HEADER}sandbox:\n  namespacePattern: "(["\n`)[0]!, /^sandbox.namespacePattern: is not a valid regular expression/);
    assert.match(problemsOf(`${HEADER}sandbox:\n  namespacePattern: "^(.*)--box$"\n`)[0]!, /named group \(\?<branch>/);
  });

  it("refuses a sandbox pattern that backtracks (issue 22's held a webhook 8 s on one namespace), or over 256 characters", () => {
    const [problem, ...others] = problemsOf(`${HEADER}sandbox:\n  namespacePattern: "^(?<base>([a-z0-9]+-?)+)--(?<branch>box-[a-z0-9]+)$"\n`);
    assert.deepEqual(others, []);
    assert.match(problem!, /^sandbox\.namespacePattern: backtracks in exponential time on names such as .*: one such namespace would stall the webhook/);
    const long = `^(?<base>[a-z]+)--(?<branch>${"x".repeat(250)})$`;
    assert.match(
      problemsOf(`${HEADER}sandbox:\n  namespacePattern: "${long}"\n`)[0]!,
      new RegExp(`^sandbox\\.namespacePattern: is ${long.length} characters long, over the 256-character limit`),
    );
  });

  it("matches sandboxes by the pattern's named groups, in namespaces as long as Kubernetes allows and no longer", () => {
    const { sandboxGroups } = loadPolicy(`${HEADER}sandbox:\n  namespacePattern: "^(?<base>[a-z0-9-]+?)--(?<branch>box-[0-9]+)$"\n`);
    assert.deepEqual({ ...sandboxGroups("shop--box-10326") }, { base: "shop", branch: "box-10326" });
    assert.equal(sandboxGroups("shop"), undefined);
    const longest = `${"a".repeat(53)}--box-1234`;
    assert.equal(longest.length, 63);
    assert.equal(sandboxGroups(longest)?.["branch"], "box-1234");
    assert.equal(sandboxGroups(`a${longest}`), undefined, "64 characters: no namespace, so never tried");
  });

  it("accepts a quadratic pattern, which costs little on a 63-character namespace", () => {
    const { sandboxGroups } = loadPolicy(`${HEADER}sandbox:\n  namespacePattern: "^(?<base>[a-z-]*)(?<branch>[a-z]*-x)$"\n`);
    const started = performance.now();
    for (let i = 0; i < 100; i++) assert.equal(sandboxGroups("a".repeat(63)), undefined);
    assert.equal(sandboxGroups("a".repeat(100_000)), undefined);
    const elapsed = performance.now() - started;
    // Measured about 1 ms for all of it; the bound is for a busy 2-core machine.
    assert.ok(elapsed < 200, `took ${elapsed} ms`);
  });

  it("refuses sandbox auto-enabling with a pattern that cannot name the base namespace", () => {
    const problems = problemsOf(`${HEADER}sandbox:\n  namespacePattern: "^sbx-(?<branch>[a-z0-9]+)$"\n`);
    assert.deepEqual(problems, [
      "sandbox.autoEnable: needs a named group (?<base>...) in namespacePattern that captures the base namespace; add one, or set autoEnable: false",
    ]);
    assert.equal(loadPolicy(`${HEADER}sandbox:\n  namespacePattern: "^sbx-(?<branch>[a-z0-9]+)$"\n  autoEnable: false\n`).policy.sandbox.autoEnable, false);
  });

  it("takes the default Sidecar's egress hosts in Istio's namespace/host form only", () => {
    const yaml = (list: string) => `${HEADER}namespaces:\n  defaultSidecar:\n    egressHosts: ${list}\n`;
    const hosts = (list: string) => problemsOf(yaml(list));
    const accepted = ["./*", "istio-system/*", "*/api.example.com", "~/*", "shop/*.svc.cluster.local"];
    assert.deepEqual(loadPolicy(yaml(JSON.stringify(accepted))).policy.namespaces.defaultSidecar.egressHosts, accepted);
    assert.match(hosts(`["istio-system"]`)[0]!, /^namespaces.defaultSidecar.egressHosts\[0\]: must be "namespace\/host"/);
    assert.match(hosts(`[]`)[0]!, /needs at least one host; set enabled: false/);
  });

  it("refuses label keys and values Kubernetes would refuse", () => {
    assert.ok(problemsOf(`${HEADER}sandbox:\n  labelKey: "bad key"\n`)[0]!.startsWith("sandbox.labelKey:"));
    assert.ok(problemsOf(`${HEADER}locality:\n  default: "a/b/c"\n`)[0]!.startsWith("locality.default:"));
    assert.ok(problemsOf(`${HEADER}services:\n  - name: x\n    revision: Canary_1\n`)[0]!.startsWith("services[0].revision:"));
  });

  it("lets a service set only Istio's and mesh-tailor's keys, and none another field manages", () => {
    const settings = (field: string, key: string) => problemsOf(`${HEADER}services:\n  - name: x\n    ${field}:\n      "${key}": "v"\n`);
    assert.match(settings("annotations", "example.com/team")[0]!, /outside Istio's .* and mesh-tailor's/);
    assert.match(settings("labels", "app")[0]!, /outside Istio's/);
    assert.match(settings("labels", "sidecar.istio.io/inject")[0]!, /selection decides it/);
    assert.match(settings("annotations", "proxy.istio.io/config")[0]!, /use services\[\]\.proxyConfig/);
    assert.match(settings("annotations", "sidecar.istio.io/proxyCPU")[0]!, /use services\[\]\.proxyResources/);
    assert.match(
      problemsOf(`${HEADER}services:\n  - name: x\n    proxyConfig: {holdApplicationUntilProxyStarts: false}\n`)[0]!,
      /startup.holdApplicationUntilProxyStarts decides it/,
    );
    const { policy } = loadPolicy(
      `${HEADER}services:\n  - name: x\n    labels: {sidecar.istio.io/interceptionMode: TPROXY}\n    annotations: {traffic.sidecar.istio.io/excludeInboundPorts: "9090"}\n    proxyConfig: {concurrency: 2, proxyMetadata: {A: b}}\n`,
    );
    assert.deepEqual(policy.services[0]!.proxyConfig, { concurrency: 2, proxyMetadata: { A: "b" } });
  });

  it("gives a policy a stable revision from its text", () => {
    const text = `${HEADER}services:\n  - name: reviews\n`;
    assert.equal(loadPolicy(text).revision, loadPolicy(text).revision);
    assert.match(loadPolicy(text).revision, /^[0-9a-f]{12}$/);
    assert.notEqual(loadPolicy(`${text}  - name: ratings\n`).revision, loadPolicy(text).revision);
  });
});

describe("a policy that is not YAML", () => {
  it("is refused with where and what, in words (no dangling colon, no source excerpt)", () => {
    assert.throws(
      () => loadPolicy("apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\nservices:\n  - name: [a\n", "p.yaml"),
      (error: PolicyError) =>
        error.problems.length === 1 && /^not valid YAML at line \d+, column \d+: .*[^:]$/.test(error.problems[0]!) && !error.problems[0]!.includes("\n"),
    );
  });
});
