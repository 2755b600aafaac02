import * as istio from "../keys/istio.js";
import { annotationOf, withAnnotation } from "../pod/edit.js";
import { mergeProxyConfigFields } from "../pod/proxy-config.js";
import { unchanged, type Mutation, type MutationContext } from "./types.js";

export interface ProxyMetadataSwitch {
  /** The mutation's name (`mesh-tailor.io/applied`). */
  readonly name: string;
  /** The policy field, as messages name it. */
  readonly setting: string;
  /** The proxyMetadata key pilot-agent reads. */
  readonly key: string;
  /** The value the policy asks of this pod, or undefined for none. */
  valueOf(context: MutationContext): string | undefined;
  /** What the pod goes without when its ProxyConfig cannot be read, e.g. "HTTP/1.0 is not turned on". */
  readonly lost: string;
}

// The merge remembers its answers by the fields object: one object per value, few values per
// policy, and emptied past a bound so that a long run of policy reloads cannot grow it.
const MAX_FIELD_OBJECTS = 256;

/**
 * A mutation that sets one proxyMetadata key in the pod's `proxy.istio.io/config`, merged key by
 * key with what the pod and the service's own proxyConfig set there. A value the pod set itself
 * is kept, with a warning.
 */
export function proxyMetadataSwitch(spec: ProxyMetadataSwitch): Mutation {
  const fieldsByValue = new Map<string, Readonly<Record<string, unknown>>>();
  const fieldsFor = (value: string) => {
    let fields = fieldsByValue.get(value);
    if (fields === undefined) {
      if (fieldsByValue.size >= MAX_FIELD_OBJECTS) fieldsByValue.clear();
      fieldsByValue.set(value, (fields = Object.freeze({ proxyMetadata: Object.freeze({ [spec.key]: value }) })));
    }
    return fields;
  };
  return {
    name: spec.name,
    sidecarOnly: true,
    apply(pod, context) {
      const wanted = spec.valueOf(context);
      if (wanted === undefined) return unchanged(pod);
      const merge = mergeProxyConfigFields(annotationOf(pod, istio.PROXY_CONFIG), fieldsFor(wanted));
      if (merge.kind === "unreadable")
        return unchanged(pod, false, [`mesh-tailor: left ${istio.PROXY_CONFIG} as written (${merge.reason}); ${spec.lost} for this pod`]);
      const kept = Object.entries(merge.kept).map(
        ([field, own]) =>
          `mesh-tailor: kept ${field}: ${JSON.stringify(own)} in ${istio.PROXY_CONFIG} as set on the pod; ${spec.setting} says ${JSON.stringify(wanted)}`,
      );
      return { pod: merge.kind === "merged" ? withAnnotation(pod, istio.PROXY_CONFIG, merge.text) : pod, warnings: kept, inForce: kept.length === 0 };
    },
  };
}
