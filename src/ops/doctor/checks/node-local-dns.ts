import { declareCheck, ok, warning } from "../check.js";
import { clusterDnsPods, isNodeLocalDns, NODE_LOCAL_DNS_NAMES } from "../cluster-dns.js";
import { describeSize, describeThreshold, isLarge, meshSize } from "../mesh-size.js";

const SHOWN = 5;

/** Past Istio's load-tested size, pods that ask the cluster DNS Service for every lookup should find a cache on their node. */
export const nodeLocalDns = declareCheck({
  name: "node-local-dns",
  summary: "on a large cluster, pods that use ClusterFirst DNS have NodeLocal DNSCache",
  errorWhen: "",
  warningWhen: `past 1,000 Services or 2,000 pods with a proxy, pods with \`dnsPolicy: ClusterFirst\` and no NodeLocal DNSCache DaemonSet (${NODE_LOCAL_DNS_NAMES.map((n) => `\`${n}\``).join(", ")}) anywhere`,
  reads: ["serviceCount", "pods", "namespaces", "daemonSets"],
  judge({ serviceCount, pods, namespaces, daemonSets }) {
    const cache = daemonSets.find(isNodeLocalDns);
    if (cache) return ok(`NodeLocal DNSCache runs: DaemonSet ${cache.metadata.namespace}/${cache.metadata.name}`);
    const size = meshSize(serviceCount, pods, namespaces.length);
    if (!isLarge(size)) return ok(`${describeSize(size)}: within ${describeThreshold()}; no NodeLocal DNSCache, which a cluster this size can do without`);
    const users = clusterDnsPods(pods);
    if (users.length === 0) return ok("no pod uses ClusterFirst DNS");
    const shown = users.slice(0, SHOWN).join(", ") + (users.length > SHOWN ? `, and ${users.length - SHOWN} more` : "");
    return warning(
      `${users.length} pod(s) send every lookup to the cluster DNS Service (dnsPolicy ClusterFirst: ${shown}) at ${describeSize(size)}, and no NodeLocal DNSCache DaemonSet was found: short connections pay a trip through conntrack to a DNS pod on another node, and UDP conntrack races cost 5s timeouts`,
      "install NodeLocal DNSCache: https://kubernetes.io/docs/tasks/administer-cluster/nodelocaldns/   (a DaemonSet named node-local-dns; pods keep dnsPolicy ClusterFirst)",
    );
  },
});
