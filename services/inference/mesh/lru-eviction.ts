/** A loaded version that the memory budget may evict. */
export interface EvictionCandidate {
  model: string;
  version: string;
  sizeBytes: number;
  /** When a request last used it, in ms since the epoch (0: never). */
  lastUsedMs: number;
}

/** What {@link pickEvictions} chose. */
export interface EvictionPlan {
  /** The versions to unload, least recently used first. */
  victims: EvictionCandidate[];
  /** Bytes still over the budget after unloading them (0 or less: it fits). */
  excessBytes: number;
}

/**
 * Chooses least recently used candidates until `excessBytes` is freed (or none is left). The
 * caller passes only what may go: on-demand versions that no alias points at, other than the
 * one being loaded.
 */
export function pickEvictions(candidates: readonly EvictionCandidate[], excessBytes: number): EvictionPlan {
  const victims: EvictionCandidate[] = [];
  let excess = excessBytes;
  for (const c of [...candidates].sort((a, b) => a.lastUsedMs - b.lastUsedMs)) {
    if (excess <= 0) break;
    victims.push(c);
    excess -= c.sizeBytes;
  }
  return { victims, excessBytes: excess };
}
