import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { admitConnection, firstToGiveWay, type Candidate, type ConnectionPhase } from "./eviction.js";

const book = (connections: Candidate[]) => {
  const byAddress = new Map<string, Set<Candidate>>();
  for (const c of connections) byAddress.set(c.address, (byAddress.get(c.address) ?? new Set()).add(c));
  return byAddress;
};
const caps = { total: 6, perAddress: 4 };

describe("which connection gives way", () => {
  it("refuses an address at its own cap, even with room left, and accepts under both caps", () => {
    const mine = Array.from({ length: 4 }, (_, i): Candidate => ({ address: "a", phase: "idle", since: i }));
    assert.deepEqual(admitConnection(book(mine), 4, "a", caps), { kind: "refuse", reason: "address_limit" });
    assert.deepEqual(admitConnection(book(mine), 4, "b", caps), { kind: "accept" });
  });

  it("makes room at the expense of the address holding the most: handshakes first, then those with no request yet, then idle; oldest first", () => {
    const idleOld: Candidate = { address: "flood", phase: "idle", since: 1 };
    const awaiting: Candidate = { address: "flood", phase: "awaiting", since: 9 };
    const handshake: Candidate = { address: "flood", phase: "handshake", since: 10 };
    const apiserver: Candidate[] = [
      { address: "apiserver", phase: "handshake", since: 0 },
      { address: "apiserver", phase: "idle", since: 0 },
    ];
    const flood = [idleOld, awaiting, handshake, { address: "flood", phase: "active", since: 0 } as Candidate];
    assert.deepEqual(admitConnection(book([...apiserver, ...flood]), 6, "apiserver", caps), { kind: "evict", victim: handshake });
    assert.deepEqual(admitConnection(book([...apiserver, ...flood.filter((c) => c !== handshake)]), 6, "other", caps), {
      kind: "evict",
      victim: awaiting,
    });
    assert.equal(firstToGiveWay([idleOld, { address: "x", phase: "idle", since: 5 }]), idleOld);
  });

  it("never closes a connection answering a request: with only those, the newcomer is refused", () => {
    const busy = Array.from({ length: 6 }, (_, i): Candidate => ({ address: String(i % 2), phase: "active", since: i }));
    assert.deepEqual(admitConnection(book(busy), 6, "new", caps), { kind: "refuse", reason: "capacity" });
  });

  it("for any book: never more than the caps, never an active victim, and a newcomer under its cap is refused only when nothing may give way", () => {
    const phase = fc.constantFrom<ConnectionPhase>("handshake", "awaiting", "active", "idle");
    const candidate = fc.record({ address: fc.constantFrom("a", "b", "c"), phase, since: fc.nat(100) });
    fc.assert(
      fc.property(fc.array(candidate, { maxLength: 6 }), fc.constantFrom("a", "b", "c", "d"), (connections, newcomer) => {
        const byAddress = book(connections);
        // Only books a listener could hold: no address over its cap.
        fc.pre([...byAddress.values()].every((set) => set.size <= caps.perAddress));
        const decision = admitConnection(byAddress, connections.length, newcomer, caps);
        const own = byAddress.get(newcomer)?.size ?? 0;
        if (own >= caps.perAddress) return decision.kind === "refuse" && decision.reason === "address_limit";
        if (connections.length < caps.total) return decision.kind === "accept";
        if (decision.kind === "evict") {
          const largest = Math.max(...[...byAddress.values()].filter((s) => [...s].some((c) => c.phase !== "active")).map((s) => s.size));
          return decision.victim.phase !== "active" && byAddress.get(decision.victim.address)!.size === largest;
        }
        return decision.kind === "refuse" && connections.every((c) => c.phase === "active");
      }),
    );
  });
});
