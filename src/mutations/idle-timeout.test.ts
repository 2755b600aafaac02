import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { appPod, migratingPolicy, policyWith } from "../../test/fixtures/pods.js";
import { runMutation } from "../../test/fixtures/context.js";
import { policyProblems } from "../../test/fixtures/policy-problems.js";
import { loadPolicy } from "../policy/load.js";
import { runPipeline } from "./pipeline.js";
import { idleTimeout } from "./idle-timeout.js";

const CONFIG = "proxy.istio.io/config";
const configOf = (result: ReturnType<typeof runMutation>): unknown => parse(result.pod.metadata!.annotations![CONFIG]!);

describe("connection.idleTimeout: the idle timeout of the connections a service's proxy accepts", () => {
  const perService = migratingPolicy({ services: [{ namespace: "*", name: "reviews", connection: { idleTimeout: "2h" } }] }, []);

  it("sets ISTIO_META_IDLE_TIMEOUT in the pod's ProxyConfig, keeping its other fields and proxyMetadata keys", () => {
    const result = runMutation(idleTimeout, appPod(), perService);
    assert.deepEqual(configOf(result), { proxyMetadata: { ISTIO_META_IDLE_TIMEOUT: "2h" } });
    assert.equal(result.inForce, true);
    const own = appPod({ annotations: { [CONFIG]: '# ours\nconcurrency: 2\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n' } });
    const merged = runMutation(idleTimeout, own, perService);
    assert.deepEqual(configOf(merged), { concurrency: 2, proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true", ISTIO_META_IDLE_TIMEOUT: "2h" } });
    assert.match(merged.pod.metadata!.annotations![CONFIG]!, /# ours/);
  });

  it("from the defaults too, a service's own value first; a value the pod set is kept, with a warning", () => {
    const defaults = policyWith({
      defaults: { connection: { idleTimeout: "90s" } },
      services: [{ name: "reviews" }, { name: "ratings", connection: { idleTimeout: "10m" } }],
    });
    assert.deepEqual(configOf(runMutation(idleTimeout, appPod(), defaults)), { proxyMetadata: { ISTIO_META_IDLE_TIMEOUT: "90s" } });
    assert.deepEqual(configOf(runMutation(idleTimeout, appPod({ name: "ratings" }), defaults)), { proxyMetadata: { ISTIO_META_IDLE_TIMEOUT: "10m" } });
    const theirs = runMutation(idleTimeout, appPod({ annotations: { [CONFIG]: "proxyMetadata: {ISTIO_META_IDLE_TIMEOUT: 30s}\n" } }), perService);
    assert.equal(theirs.inForce, false);
    assert.match(
      theirs.warnings.join(),
      /kept proxyMetadata\.ISTIO_META_IDLE_TIMEOUT: "30s" in proxy\.istio\.io\/config as set on the pod; connection\.idleTimeout says "2h"/,
    );
    const none = appPod();
    assert.equal(runMutation(idleTimeout, none, migratingPolicy()).pod, none);
  });

  it("merges with HTTP/1.0 and the service's proxyConfig into one proxyMetadata, and a second pass changes nothing", () => {
    const all = migratingPolicy(
      {
        services: [
          {
            namespace: "*",
            name: "reviews",
            proxyConfig: { proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" } },
            connection: { http10: true, idleTimeout: "2h" },
          },
        ],
      },
      [],
    );
    const once = runPipeline({ pod: appPod(), namespace: "shop" }, all);
    const config = parse(once.pod.metadata!.annotations![CONFIG]!) as { proxyMetadata: Record<string, string> };
    assert.deepEqual(config.proxyMetadata, { ISTIO_META_DNS_CAPTURE: "true", ISTIO_META_HTTP10: "1", ISTIO_META_IDLE_TIMEOUT: "2h" });
    assert.match(once.pod.metadata!.annotations!["mesh-tailor.io/applied"]!, /proxy-config,http10,idle-timeout/);
    assert.deepEqual(runPipeline({ pod: once.pod, namespace: "shop" }, all).pod, once.pod);
  });

  it("refuses what Istio would ignore (not a Go duration) and what Envoy reads as no timeout at all", () => {
    const refusal = (value: string) => policyProblems(`defaults:\n  connection: {idleTimeout: "${value}"}\n`);
    assert.match(refusal("90"), /must be a Go duration such as "90s"/);
    assert.match(refusal("1 hour"), /must be a Go duration/);
    assert.match(refusal("-5s"), /must be a Go duration/);
    assert.match(refusal("0s"), /1ms or longer/);
    assert.match(refusal("500us"), /Envoy counts milliseconds/);
    const loaded = loadPolicy(`apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\ndefaults:\n  connection: {idleTimeout: "1h30m"}\n`);
    assert.equal(loaded.policy.defaults.connection?.idleTimeout, "1h30m");
  });
});
