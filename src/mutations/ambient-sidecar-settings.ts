import type { ServiceEntry } from "../policy/schema.js";
import { unchanged, type Mutation } from "./types.js";

// The settings of a services entry that shape a sidecar, which an ambient pod does not have: its
// traffic goes through the node's ztunnel (and a waypoint for L7), none of which they reach.
const SIDECAR_SETTINGS: readonly [field: string, asked: (entry: ServiceEntry) => boolean][] = [
  ["revision", (e) => e.revision !== undefined],
  ["proxyResources", (e) => e.proxyResources !== undefined],
  ["proxyConfig", (e) => e.proxyConfig !== undefined],
  ["hostPassthrough", (e) => e.hostPassthrough !== "none"],
  ["connection.http10", (e) => e.connection?.http10 !== undefined],
  ["connection.idleTimeout", (e) => e.connection?.idleTimeout !== undefined],
  ["connection.localPortRange", (e) => e.connection?.localPortRange !== undefined],
  ["connection.appKeepAlive", (e) => e.connection?.appKeepAlive !== undefined],
];

/** Warns when the entry of a service in ambient asks for settings only a sidecar has; it changes nothing. */
export const ambientSidecarSettings: Mutation = {
  name: "ambient-settings",
  selectedOnly: true,
  apply(pod, { decision, serviceName }) {
    const entry = decision.entry;
    if (decision.dataplane !== "ambient" || entry === undefined) return unchanged(pod);
    const asked = SIDECAR_SETTINGS.filter(([, isAsked]) => isAsked(entry)).map(([field]) => field);
    if (asked.length === 0) return unchanged(pod);
    const who = serviceName ? `service "${serviceName}"` : "this pod";
    return unchanged(pod, false, [
      `mesh-tailor: ${who} is in ambient, which has no sidecar: its entry's ${asked.join(", ")} ${asked.length === 1 ? "does" : "do"} not apply`,
    ]);
  },
};
