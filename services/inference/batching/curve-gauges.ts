import type { Clock } from './executor-clock.js';
import type { ThroughputCurve } from './throughput-curve.js';

/** How often the throughput gauges are refreshed from the curves, at most, in ms. */
export const CURVE_PUBLISH_INTERVAL_MS = 1000;

/** Mean rows/s over the curves at each batch size they have a point at. */
export function meanRowsPerSecond(curves: Iterable<Pick<ThroughputCurve, 'points'> | undefined>): Map<number, number> {
  const sums = new Map<number, { total: number; n: number }>();
  for (const curve of curves) {
    for (const p of curve?.points() ?? []) {
      const acc = sums.get(p.batchSize) ?? { total: 0, n: 0 };
      acc.total += p.rowsPerSecond;
      acc.n++;
      sums.set(p.batchSize, acc);
    }
  }
  return new Map([...sums].map(([size, { total, n }]) => [size, total / n]));
}

/** Refreshes the throughput gauge from the instances' curves, at most once per {@link CURVE_PUBLISH_INTERVAL_MS} unless forced. */
export class CurvePublisher {
  #publishedMs = -Infinity;

  /** `set` undefined: nothing to publish. */
  constructor(
    private readonly curves: () => Iterable<Pick<ThroughputCurve, 'points'> | undefined>,
    private readonly set: ((batchSize: number, rowsPerSecond: number) => void) | undefined,
    private readonly clock: Clock,
  ) {}

  publish(force: boolean): void {
    if (!this.set) return;
    const now = this.clock.nowMs();
    if (!force && now - this.#publishedMs < CURVE_PUBLISH_INTERVAL_MS) return;
    this.#publishedMs = now;
    for (const [size, rowsPerSecond] of meanRowsPerSecond(this.curves())) this.set(size, rowsPerSecond);
  }
}
