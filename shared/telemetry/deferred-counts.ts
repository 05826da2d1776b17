import type { Counter } from 'prom-client';

/**
 * One label set's count of a prom-client Counter, kept on the request path as
 * a plain number: `inc()` is one addition (prom-client's own `inc`, even on a
 * bound child, hashes the labels and allocates every call: ~3% of a busy
 * node's allocations). The count reaches the Counter when {@link DeferredCounts}
 * flushes, which the Counter's collect hook does before every scrape.
 */
export class BoundCount {
  #pending = 0;

  constructor(readonly child: Counter.Internal) {}

  inc(): void {
    this.#pending++;
  }

  /** Adds what was counted since the last flush to the Counter. */
  flush(): void {
    if (this.#pending === 0) return;
    this.child.inc(this.#pending);
    this.#pending = 0;
  }
}

/** The {@link BoundCount}s of one Counter; create the Counter with `collect: () => counts.flush()`. */
export class DeferredCounts {
  readonly #bound: BoundCount[] = [];

  /** A count for one bound child (bind once per label set, e.g. per model version and status). */
  bind(child: Counter.Internal): BoundCount {
    const bound = new BoundCount(child);
    this.#bound.push(bound);
    return bound;
  }

  flush(): void {
    for (const b of this.#bound) b.flush();
  }
}
