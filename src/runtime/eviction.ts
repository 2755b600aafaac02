// Which connection gives way when a new one arrives and the listener is full. Pure: the
// connection budget (connection-budget.ts) keeps the books and closes what this names.

/**
 * Where a connection stands: `handshake` (TCP accepted, TLS not done), `awaiting` (ready, no
 * request yet), `active` (a request is being read or answered), `idle` (kept alive between
 * requests). Only an active connection is never closed to make room: it is doing the work.
 */
export type ConnectionPhase = "handshake" | "awaiting" | "active" | "idle";

export interface Candidate {
  readonly address: string;
  readonly phase: ConnectionPhase;
  /** When it entered its phase (ms, any monotonic clock). */
  readonly since: number;
}

export interface ConnectionCaps {
  /** Connections the listener keeps at once. */
  readonly total: number;
  /** Connections one client address may hold at once. */
  readonly perAddress: number;
}

export type Admission<C> =
  { readonly kind: "accept" } | { readonly kind: "evict"; readonly victim: C } | { readonly kind: "refuse"; readonly reason: "address_limit" | "capacity" };

// Closed first: what has shown least sign of being a client. A connection that never finished
// its handshake or never sent a request costs the same as one that did and is idle, and an
// idle one is how kube-apiserver keeps its pool.
const GIVES_WAY_FIRST: Readonly<Record<Exclude<ConnectionPhase, "active">, number>> = { handshake: 0, awaiting: 1, idle: 2 };

/** The connection of SET to close first, if any may be: the earliest phase, then the oldest. */
export function firstToGiveWay<C extends Candidate>(set: Iterable<C>): C | undefined {
  let best: C | undefined;
  for (const candidate of set) {
    if (candidate.phase === "active") continue;
    if (
      !best ||
      GIVES_WAY_FIRST[candidate.phase] < GIVES_WAY_FIRST[best.phase as Exclude<ConnectionPhase, "active">] ||
      (candidate.phase === best.phase && candidate.since < best.since)
    )
      best = candidate;
  }
  return best;
}

/**
 * What to do with a new connection from ADDRESS, given the open ones by address. An address at
 * its own cap is refused (its new connections cost nothing before TLS, and it cannot churn the
 * others away); a full listener makes room at the expense of the address holding the most, so
 * a client with a few connections always gets one while any other client holds many idle ones.
 */
export function admitConnection<C extends Candidate>(
  byAddress: ReadonlyMap<string, ReadonlySet<C>>,
  total: number,
  address: string,
  caps: ConnectionCaps,
): Admission<C> {
  if ((byAddress.get(address)?.size ?? 0) >= caps.perAddress) return { kind: "refuse", reason: "address_limit" };
  if (total < caps.total) return { kind: "accept" };
  const holders = [...byAddress.entries()].sort((a, b) => b[1].size - a[1].size);
  for (const [, set] of holders) {
    const victim = firstToGiveWay(set);
    if (victim) return { kind: "evict", victim };
  }
  return { kind: "refuse", reason: "capacity" };
}
