import type { Counter, LabelValues } from 'prom-client';

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
  /** One count per label set: a version loaded again binds the same labels again and gets the same count (bounded by the labels). */
  readonly #bound = new Map<string, BoundCount>();

  /** The count of `counter`'s series with `labels` (e.g. a model version and a status); bind once, count many times. */
  bind<T extends string>(counter: Counter<T>, labels: LabelValues<T>): BoundCount {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let bound = this.#bound.get(key);
    if (!bound) this.#bound.set(key, (bound = new BoundCount(counter.labels(labels))));
    return bound;
  }

  flush(): void {
    for (const b of this.#bound.values()) b.flush();
  }
}
