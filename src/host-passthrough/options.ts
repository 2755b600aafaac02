import { isIP } from "node:net";

export interface HostPassthroughOptions {
  /** The header that carries the caller's original Host between the two sidecars. */
  readonly header: string;
  /** Service (ClusterIP) ranges: only calls to these are rewritten. Dual-stack takes several. */
  readonly serviceCidrs: readonly string[];
  /** SPIFFE trust domains whose peers the inbound side believes. */
  readonly trustDomains: readonly string[];
  /** Istio's root namespace: EnvoyFilters there apply mesh-wide. */
  readonly namespace: string;
}

export const DEFAULT_OPTIONS: HostPassthroughOptions = {
  header: "x-mesh-tailor-original-host",
  // kubeadm's default Service CIDR; set yours with --service-cidr.
  serviceCidrs: ["10.96.0.0/12"],
  trustDomains: ["cluster.local"],
  namespace: "istio-system",
};

const RESERVED_HEADERS = new Set(["host", "connection", "te", "transfer-encoding", "upgrade", "x-forwarded-for", "x-forwarded-host", "x-envoy-original-path"]);

/** Problems with the options, each naming the flag; empty when they are usable. */
export function optionProblems(options: HostPassthroughOptions): string[] {
  const problems: string[] = [];
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(options.header) || RESERVED_HEADERS.has(options.header)) {
    problems.push(`--header "${options.header}" must be a lower-case header name of letters, digits and "-" that no proxy already uses`);
  }
  if (options.serviceCidrs.length === 0) problems.push("--service-cidr: give at least one Service CIDR");
  for (const cidr of options.serviceCidrs) {
    const [address = "", bits, extra] = cidr.split("/");
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    if (extra !== undefined || family === 0 || bits === undefined || !/^\d{1,3}$/.test(bits) || Number(bits) > max) {
      problems.push(`--service-cidr "${cidr}" must be an IPv4 or IPv6 CIDR such as 10.96.0.0/12 or fd00:10:96::/108`);
    }
  }
  if (options.trustDomains.length === 0) problems.push("--trust-domain: give at least one trust domain");
  for (const domain of options.trustDomains) {
    if (!/^[a-z0-9]([a-z0-9._-]{0,251}[a-z0-9])?$/.test(domain))
      problems.push(`--trust-domain "${domain}" must be a SPIFFE trust domain such as cluster.local`);
  }
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(options.namespace)) problems.push(`--namespace "${options.namespace}" must be a namespace name`);
  return problems;
}
