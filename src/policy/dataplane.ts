import type { Dataplane, ServiceEntry, TailorPolicy } from "./schema.js";

/** How a service's selected pods join the mesh: its entry's dataplane, else the defaults'. */
export const dataplaneOf = (entry: ServiceEntry | undefined, policy: TailorPolicy): Dataplane => entry?.dataplane ?? policy.defaults.dataplane;

/** The services POLICY puts in ambient, by the names of their entries, and whether its defaults put every other service there. */
export function ambientServices(policy: TailorPolicy): { readonly names: readonly string[]; readonly byDefault: boolean } {
  return {
    names: policy.services.filter((entry) => entry.inject && dataplaneOf(entry, policy) === "ambient").map((entry) => entry.name),
    byDefault: policy.defaults.inject && policy.defaults.dataplane === "ambient",
  };
}
