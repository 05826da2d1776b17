/** Throughput and latency of one measurement window. */
export interface LatencySummary {
  /** Completed requests (or rows, for the compute limit) per second. */
  throughput: number;
  /** Completions counted in the window. */
  count: number;
  errors: number;
  /** Latency percentiles and mean, in ms. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
}

/** Growable list of latencies in ms, stored in a Float64Array (no per-sample objects). */
export class LatencyRecorder {
  private data = new Float64Array(1 << 14);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  /** Summary over what was recorded, for a window of `windowMs` in which `completed` units finished. */
  summarize(windowMs: number, completed = this.n, errors = 0): LatencySummary {
    const sorted = this.data.slice(0, this.n).sort();
    const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN);
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      throughput: completed / (windowMs / 1000),
      count: completed,
      errors,
      p50Ms: q(0.5),
      p90Ms: q(0.9),
      p99Ms: q(0.99),
      meanMs: sorted.length ? sum / sorted.length : NaN,
    };
  }
}
