import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { appPod, migratingPolicy, policyWith } from "../../test/fixtures/pods.js";
import { runMutation } from "../../test/fixtures/context.js";
import { runPipeline } from "./pipeline.js";
import { http10 } from "./http10.js";

const CONFIG = "proxy.istio.io/config";
const configOf = (result: ReturnType<typeof runMutation>): unknown => parse(result.pod.metadata!.annotations![CONFIG]!);

describe("connection.http10: HTTP/1.0 callers accepted by the service's proxy", () => {
  const perService = migratingPolicy({ services: [{ namespace: "*", name: "reviews", connection: { http10: true } }] }, []);

  it("sets ISTIO_META_HTTP10 to the string 1 in the pod's ProxyConfig, keeping its other fields and proxyMetadata keys", () => {
    assert.deepEqual(configOf(runMutation(http10, appPod(), perService)), { proxyMetadata: { ISTIO_META_HTTP10: "1" } });
    const own = appPod({ annotations: { [CONFIG]: '# ours\nconcurrency: 2\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n' } });
    const result = runMutation(http10, own, perService);
    assert.deepEqual(configOf(result), { concurrency: 2, proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true", ISTIO_META_HTTP10: "1" } });
    assert.match(result.pod.metadata!.annotations![CONFIG]!, /# ours/, "comments kept");
    const json = runMutation(http10, appPod({ annotations: { [CONFIG]: '{"proxyMetadata":{"A":"b"}}' } }), perService);
    assert.equal(json.pod.metadata!.annotations![CONFIG], '{"proxyMetadata":{"A":"b","ISTIO_META_HTTP10":"1"}}');
    assert.equal(result.inForce, true);
  });

  it("from the defaults too; a service's false turns it off; and a value the pod set is kept, with a warning", () => {
    const defaults = policyWith({
      defaults: { connection: { http10: true } },
      services: [{ name: "reviews" }, { name: "ratings", connection: { http10: false } }],
    });
    assert.deepEqual(configOf(runMutation(http10, appPod(), defaults)), { proxyMetadata: { ISTIO_META_HTTP10: "1" } });
    const off = appPod({ name: "ratings" });
    assert.equal(runMutation(http10, off, defaults).pod, off);
    const theirs = runMutation(http10, appPod({ annotations: { [CONFIG]: 'proxyMetadata: {ISTIO_META_HTTP10: "0"}\n' } }), perService);
    assert.equal(theirs.inForce, false);
    assert.match(
      theirs.warnings.join(),
      /kept proxyMetadata\.ISTIO_META_HTTP10: "0" in proxy\.istio\.io\/config as set on the pod; connection\.http10 says "1"/,
    );
    // A proxyMetadata written as an alias cannot take a key: kept whole, and said.
    const aliased = appPod({ annotations: { [CONFIG]: "base: &m {A: b}\nproxyMetadata: *m\n" } });
    const whole = runMutation(http10, aliased, perService);
    assert.equal(whole.pod, aliased);
    assert.match(whole.warnings.join(), /kept proxyMetadata: \{"A":"b"\}/);
  });

  it("merges with a service's own proxyMetadata, and a second pass changes nothing", () => {
    const both = migratingPolicy(
      { services: [{ namespace: "*", name: "reviews", proxyConfig: { proxyMetadata: { ISTIO_META_IDLE_TIMEOUT: "30s" } }, connection: { http10: true } }] },
      [],
    );
    const once = runPipeline({ pod: appPod(), namespace: "shop" }, both);
    const config = parse(once.pod.metadata!.annotations![CONFIG]!) as { proxyMetadata: Record<string, string> };
    assert.deepEqual(config.proxyMetadata, { ISTIO_META_IDLE_TIMEOUT: "30s", ISTIO_META_HTTP10: "1" });
    assert.match(once.pod.metadata!.annotations!["mesh-tailor.io/applied"]!, /proxy-config,http10/);
    assert.deepEqual(runPipeline({ pod: once.pod, namespace: "shop" }, both).pod, once.pod);
  });
});
