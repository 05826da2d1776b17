import type { ThroughputPoint } from '../execution/executor.js';

/**
 * One instance's throughput curve: how long a batch of each size costs the
 * instance, ORT's run plus the node's own per-batch work around it (batch
 * assembly, the hand-off to a worker, output slicing: one figure for every
 * size), measured at load (see curve-probe.ts) and kept up to date from the
 * batches the instance actually runs (an exponentially weighted moving
 * average per size, each run's weight bounded so that one outlier cannot
 * flip the choice). The scheduler asks it which batch size gives the most
 * rows per second.
 *
 * Sizes that were neither probed nor run are interpolated linearly in batch
 * time between the nearest known sizes (a batch's time is close to affine in
 * its rows, so rows/s between two known sizes lies between theirs), and
 * above the largest known size extrapolated at that size's time per row, so
 * an unmeasured larger size never looks faster than a measured one.
 */


/** What the scheduler reads of a curve (see formBatch). */
export interface CurveView {
  /** True once the curve holds a load-time measurement; until then the scheduler forms the largest batches it can. */
  readonly measured: boolean;
  /** The size s <= limit with the most rows/s (the smallest of equals); `limit` when nothing is known. */
  bestSize(limit: number): number;
  /** Estimated time of one run of `size` rows, in ms; 0 when nothing is known. */
  batchMs(size: number): number;
}

export interface ThroughputCurveOptions {
  /** Weight of the newest served batch in a size's average, 0..1. Default 0.2. */
  readonly smoothing?: number;
  /** Distinct sizes kept; served sizes beyond it update nothing (probed sizes always stay). Default 64. */
  readonly maxPoints?: number;
}

const DEFAULT_SMOOTHING = 0.2;
const DEFAULT_MAX_POINTS = 64;

interface Knot {
  size: number;
  ns: number;
  runs: number;
  source: ThroughputPoint['source'];
}

export class ThroughputCurve implements CurveView {
  /** Known sizes, ascending. */
  private readonly knots: Knot[] = [];
  private readonly smoothing: number;
  private readonly maxPoints: number;
  private probed = false;
  private peakCache: number | undefined;
  /** The per-batch work outside ORT, in ns, and the batches it rests on. */
  private overheadNs = 0;
  private overheadRuns = 0;

  /** @param maxBatchSize the largest size the curve describes (>= 1). */
  constructor(readonly maxBatchSize: number, options: ThroughputCurveOptions = {}) {
    this.smoothing = options.smoothing ?? DEFAULT_SMOOTHING;
    this.maxPoints = options.maxPoints ?? DEFAULT_MAX_POINTS;
  }

  get measured(): boolean {
    return this.probed;
  }

  /** Sets the load-time figure of `size`: its run time in ns, measured over `runs` runs. */
  setProbe(size: number, ns: number, runs: number): void {
    if (!this.valid(size, ns)) return;
    const knot = this.knot(size, true);
    knot.ns = ns;
    knot.runs = runs;
    knot.source = 'probe';
    this.probed = true;
    this.peakCache = undefined;
  }

  /** Sets the load-time figure of the per-batch work outside ORT, in ns (served batches then take over). */
  setProbeOverhead(ns: number): void {
    if (this.overheadRuns > 0 || !Number.isFinite(ns) || ns < 0) return;
    this.overheadNs = ns;
    this.peakCache = undefined;
  }

  /**
   * Folds one served batch of `size` rows into the curve: ORT ran it in
   * `ns`, and the node spent `overheadNs` on it besides.
   */
  record(size: number, ns: number, overheadNs?: number): void {
    if (overheadNs !== undefined && Number.isFinite(overheadNs) && overheadNs >= 0) {
      this.overheadNs = this.overheadRuns === 0 ? overheadNs : this.smoothed(this.overheadNs, overheadNs);
      this.overheadRuns++;
      this.peakCache = undefined;
    }
    if (!this.valid(size, ns)) return;
    const knot = this.knot(size, this.knots.length < this.maxPoints);
    if (!knot) return;
    knot.ns = knot.runs === 0 ? ns : this.smoothed(knot.ns, ns);
    knot.runs++;
    knot.source = 'runs';
    this.peakCache = undefined;
  }

  /** The per-batch work outside ORT the curve counts, in ns. */
  get batchOverheadNs(): number {
    return this.overheadNs;
  }

  /**
   * One observation into a moving average: a run slowed by other work (or a
   * lucky one) moves it by at most the smoothing weight of a doubling or
   * halving, so one outlier cannot flip the choice; a lasting change still
   * gets through within a few batches.
   */
  private smoothed(average: number, observed: number): number {
    const bounded = average === 0 ? observed : Math.min(2 * average, Math.max(average / 2, observed));
    return average + this.smoothing * (bounded - average);
  }

  /** Rows per second at `size`, the per-batch work included (interpolated when not known); NaN when nothing is known. */
  rowsPerSecond(size: number): number {
    const ns = this.batchNs(size);
    return Number.isNaN(ns) ? NaN : (size * 1e9) / (ns + this.overheadNs);
  }

  batchMs(size: number): number {
    const ns = this.batchNs(size);
    return Number.isNaN(ns) ? 0 : (ns + this.overheadNs) / 1e6;
  }

  bestSize(limit: number): number {
    const n = Math.min(limit, this.maxBatchSize);
    if (this.knots.length === 0) return n;
    if (n >= this.maxBatchSize) return (this.peakCache ??= this.argmax(this.maxBatchSize));
    return this.argmax(n);
  }

  /** The known points, ascending by size. */
  points(): ThroughputPoint[] {
    return this.knots.map((k) => ({ batchSize: k.size, rowsPerSecond: (k.size * 1e9) / (k.ns + this.overheadNs), runs: k.runs, source: k.source }));
  }

  /**
   * Between knots rows/s is monotonic in the size (batch cost linear in it),
   * so the best size up to n is a knot or n itself.
   */
  private argmax(n: number): number {
    let best = 0;
    let bestRate = -1;
    for (const k of this.knots) {
      if (k.size > n) break;
      const rate = k.size / (k.ns + this.overheadNs);
      if (rate > bestRate) {
        best = k.size;
        bestRate = rate;
      }
    }
    if (best !== n) {
      const rate = n / (this.batchNs(n) + this.overheadNs);
      if (rate > bestRate) best = n;
    }
    return best;
  }

  private batchNs(size: number): number {
    const knots = this.knots;
    if (knots.length === 0) return NaN;
    let hi = 0;
    while (hi < knots.length && knots[hi]!.size < size) hi++;
    if (hi < knots.length && knots[hi]!.size === size) return knots[hi]!.ns;
    // Above the largest known size: that size's time per row.
    if (hi === knots.length) return (knots[hi - 1]!.ns * size) / knots[hi - 1]!.size;
    // Below the smallest: its time per row.
    if (hi === 0) return (knots[0]!.ns * size) / knots[0]!.size;
    const a = knots[hi - 1]!;
    const b = knots[hi]!;
    return a.ns + ((b.ns - a.ns) * (size - a.size)) / (b.size - a.size);
  }

  private valid(size: number, ns: number): boolean {
    return Number.isInteger(size) && size >= 1 && size <= this.maxBatchSize && Number.isFinite(ns) && ns > 0;
  }

  private knot(size: number, create: true): Knot;
  private knot(size: number, create: boolean): Knot | undefined;
  private knot(size: number, create: boolean): Knot | undefined {
    let i = 0;
    while (i < this.knots.length && this.knots[i]!.size < size) i++;
    if (this.knots[i]?.size === size) return this.knots[i];
    if (!create) return undefined;
    const knot: Knot = { size, ns: 0, runs: 0, source: 'runs' };
    this.knots.splice(i, 0, knot);
    return knot;
  }
}
