import * as istio from "../keys/istio.js";
import * as meshTailor from "../keys/mesh-tailor.js";

// Which keys and ProxyConfig fields a services entry may set on its pods. Only Istio's and
// mesh-tailor's domains: anything else is the application's business, not the mesh's. And none
// that another part of the policy decides, so two fields can never fight over one key.

const MANAGED_KEYS: Readonly<Record<string, string>> = {
  [istio.SIDECAR_INJECT]: "selection decides it (services[].inject, defaults.inject)",
  [istio.REVISION]: "use services[].revision",
  [istio.DATAPLANE_MODE]: "use services[].dataplane",
  [istio.USE_WAYPOINT]: "use services[].waypoint",
  [istio.PROXY_CONFIG]: "use services[].proxyConfig, which merges field by field",
  [istio.PROXY_CPU]: "use services[].proxyResources",
  [istio.PROXY_MEMORY]: "use services[].proxyResources",
  [istio.PROXY_CPU_LIMIT]: "use services[].proxyResources",
  [istio.PROXY_MEMORY_LIMIT]: "use services[].proxyResources",
  [meshTailor.HOST_PASSTHROUGH]: "use services[].hostPassthrough",
  [meshTailor.APPLIED]: "mesh-tailor writes it to record what it did",
  [meshTailor.SKIP]: "it asks mesh-tailor to leave a pod untailored while the mesh is enabled (never under the rollback); set it on the workload itself",
  [meshTailor.ENABLED]: "it is a namespace label",
};

const MANAGED_PROXY_CONFIG_FIELDS: Readonly<Record<string, string>> = {
  holdApplicationUntilProxyStarts: "startup.holdApplicationUntilProxyStarts decides it",
};

const domainOf = (key: string): string => (key.includes("/") ? key.slice(0, key.lastIndexOf("/")) : "");
const inDomain = (domain: string, root: string): boolean => domain === root || domain.endsWith(`.${root}`);

/** Why a services entry may not set KEY on its pods, or undefined when it may. */
export function managedKeyProblem(key: string): string | undefined {
  const managed = MANAGED_KEYS[key];
  if (managed) return `${key} cannot be set here: ${managed}`;
  const domain = domainOf(key);
  if (!inDomain(domain, "istio.io") && !inDomain(domain, "mesh-tailor.io")) {
    return `${key} is outside Istio's (*.istio.io) and mesh-tailor's (mesh-tailor.io) keys; set the application's own labels in its manifests`;
  }
  return undefined;
}

/** Why a services entry may not set this ProxyConfig field, or undefined when it may. */
export function managedProxyConfigFieldProblem(field: string): string | undefined {
  if (MANAGED_PROXY_CONFIG_FIELDS[field]) return `ProxyConfig field ${field} cannot be set here: ${MANAGED_PROXY_CONFIG_FIELDS[field]}`;
  if (!/^[a-z][A-Za-z0-9]*$/.test(field))
    return `${JSON.stringify(field)} is not a ProxyConfig field name (lowerCamelCase, as in Istio's ProxyConfig reference)`;
  return undefined;
}
