/** Why a body could not be reserved: every body together, or its client's share, is spent. */
export type BodyRefusal = "total" | "address";

/**
 * Bytes request bodies may hold while they arrive, in all and per client address: a body
 * reserves its declared length until it is parsed, so stalled uploads cannot add up, and one
 * client's uploads, however many, leave the rest of the budget to the others.
 */
export class BodyBudget {
  private heldTotal = 0;
  private readonly held = new Map<string, number>();

  constructor(
    readonly totalBytes: number,
    readonly perAddressBytes: number,
  ) {}

  /** Reserves BYTES for ADDRESS: a release function, or why not. */
  reserve(address: string, bytes: number): (() => void) | BodyRefusal {
    const mine = this.held.get(address) ?? 0;
    if (mine + bytes > this.perAddressBytes) return "address";
    if (this.heldTotal + bytes > this.totalBytes) return "total";
    this.held.set(address, mine + bytes);
    this.heldTotal += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.heldTotal -= bytes;
      const left = (this.held.get(address) ?? 0) - bytes;
      if (left > 0) this.held.set(address, left);
      else this.held.delete(address);
    };
  }

  /** Bytes held now, by all and by ADDRESS. */
  heldBy(address?: string): number {
    return address === undefined ? this.heldTotal : (this.held.get(address) ?? 0);
  }
}
