import { compileGlob } from "./glob.js";
import type { ServiceEntry } from "./schema.js";

interface CompiledEntry {
  readonly order: number;
  readonly entry: ServiceEntry;
  readonly matchesNamespace: (namespace: string) => boolean;
  readonly matchesName: (name: string) => boolean;
}

// A namespace is a DNS label; a workload (and so its pods' owner) a DNS subdomain.
const MAX_NAMESPACE_LENGTH = 63;
const MAX_NAME_LENGTH = 253;

/**
 * First-match lookup of `services` entries by (namespace, name) that does not scan every entry:
 * entries with a literal name are indexed by it, and only the (usually few) glob-named entries
 * are tried on every lookup. The winner is the candidate that comes first in the policy.
 */
export class ServiceIndex {
  private readonly byName = new Map<string, CompiledEntry[]>();
  private readonly globNamed: CompiledEntry[] = [];

  constructor(entries: readonly ServiceEntry[]) {
    entries.forEach((entry, order) => {
      const name = compileGlob(entry.name);
      const compiled: CompiledEntry = { order, entry, matchesNamespace: compileGlob(entry.namespace).matches, matchesName: name.matches };
      if (name.literal === undefined) {
        this.globNamed.push(compiled);
      } else {
        const list = this.byName.get(name.literal) ?? [];
        list.push(compiled);
        this.byName.set(name.literal, list);
      }
    });
  }

  lookup(namespace: string, name: string): ServiceEntry | undefined {
    // The webhook sees a pod before kube-apiserver validates it: a forged label value or owner
    // name may be megabytes, and a glob costs its length times the name's. No real namespace or
    // workload is longer than these, so none is looked up.
    if (name.length > MAX_NAME_LENGTH || namespace.length > MAX_NAMESPACE_LENGTH) return undefined;
    let best: CompiledEntry | undefined;
    for (const candidate of this.byName.get(name) ?? []) {
      if (candidate.matchesNamespace(namespace)) {
        best = candidate;
        break;
      }
    }
    for (const candidate of this.globNamed) {
      if (best && candidate.order > best.order) break;
      if (candidate.matchesName(name) && candidate.matchesNamespace(namespace)) {
        best = candidate;
        break;
      }
    }
    return best?.entry;
  }
}
