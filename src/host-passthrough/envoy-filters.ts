import * as meshTailor from "../keys/mesh-tailor.js";
import { renderLua, type LuaScript } from "./lua-source.js";
import type { HostPassthroughOptions } from "./options.js";

// Envoy's Lua HTTP filter (envoyproxy.io: envoy.extensions.filters.http.lua.v3.Lua);
// default_source_code replaces the deprecated inline_code.
export const LUA_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua";
const HCM = "envoy.filters.network.http_connection_manager";
const ROUTER = "envoy.filters.http.router";
// Istio's AuthorizationPolicy filter. Inserting before it lets AuthorizationPolicy see the
// restored Host. EnvoyFilter's filterClass: AUTHN would say the same, but Istio's EnvoyFilter
// patcher ignores filterClass (pilot/pkg/networking/core/envoyfilter/listener_patch.go looks
// only at the operation), and ADD would append the filter after the router, where it never runs.
// Without an AuthorizationPolicy there is no RBAC filter and Istio inserts ours first in the
// chain, which is still before the router.
const RBAC = "envoy.filters.http.rbac";

interface Placement {
  readonly name: string;
  readonly context: "SIDECAR_OUTBOUND" | "SIDECAR_INBOUND" | "GATEWAY";
  readonly script: LuaScript;
  readonly selectorValue?: "outbound" | "inbound" | "both";
  readonly operation: "INSERT_BEFORE" | "INSERT_FIRST";
  readonly before?: string;
}

// workloadSelector labels match exactly, so "both" needs a filter of its own on each side.
const PLACEMENTS: readonly Placement[] = [
  {
    name: "mesh-tailor-host-passthrough-outbound",
    context: "SIDECAR_OUTBOUND",
    script: "outbound",
    selectorValue: "outbound",
    operation: "INSERT_BEFORE",
    before: ROUTER,
  },
  {
    name: "mesh-tailor-host-passthrough-outbound-both",
    context: "SIDECAR_OUTBOUND",
    script: "outbound",
    selectorValue: "both",
    operation: "INSERT_BEFORE",
    before: ROUTER,
  },
  {
    name: "mesh-tailor-host-passthrough-inbound",
    context: "SIDECAR_INBOUND",
    script: "inbound",
    selectorValue: "inbound",
    operation: "INSERT_BEFORE",
    before: RBAC,
  },
  {
    name: "mesh-tailor-host-passthrough-inbound-both",
    context: "SIDECAR_INBOUND",
    script: "inbound",
    selectorValue: "both",
    operation: "INSERT_BEFORE",
    before: RBAC,
  },
  { name: "mesh-tailor-host-passthrough-gateway", context: "GATEWAY", script: "gateway", operation: "INSERT_FIRST" },
];

export interface EnvoyFilterObject {
  apiVersion: "networking.istio.io/v1alpha3";
  kind: "EnvoyFilter";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

function envoyFilter(placement: Placement, options: HostPassthroughOptions): EnvoyFilterObject {
  const listenerMatch: Record<string, unknown> = {
    filterChain: { filter: { name: HCM, ...(placement.before ? { subFilter: { name: placement.before } } : {}) } },
  };
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: {
      name: placement.name,
      namespace: options.namespace,
      labels: { "app.kubernetes.io/part-of": "mesh-tailor", "app.kubernetes.io/component": "host-passthrough" },
    },
    spec: {
      ...(placement.selectorValue ? { workloadSelector: { labels: { [meshTailor.HOST_PASSTHROUGH]: placement.selectorValue } } } : {}),
      configPatches: [
        {
          applyTo: "HTTP_FILTER",
          match: { context: placement.context, listener: listenerMatch },
          patch: {
            operation: placement.operation,
            value: {
              name: `mesh-tailor.host-passthrough.${placement.script}`,
              typed_config: { "@type": LUA_TYPE_URL, default_source_code: { inline_string: renderLua(placement.script, options) } },
            },
          },
        },
      ],
    },
  };
}

/** Every EnvoyFilter that places the Host-passthrough filters, in a stable order. */
export function hostPassthroughFilters(options: HostPassthroughOptions): EnvoyFilterObject[] {
  return PLACEMENTS.map((placement) => envoyFilter(placement, options));
}
