// The orders a rollout may take, in a module of their own: the CLI reads them for its flag
// without loading the rollout.

/**
 * "namespace": one namespace at a time, each finished before the next starts (in the plan's
 * order), so an upgrade or a move between dataplanes reaches a namespace whole and the others
 * not at all; "workload" (the default): as many in flight as allowed, whatever their namespace.
 */
export const ROLLOUT_ORDERS = ["workload", "namespace"] as const;
export type RolloutOrder = (typeof ROLLOUT_ORDERS)[number];
