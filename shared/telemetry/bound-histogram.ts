import type { Metric, Registry } from 'prom-client';

/** One exported sample, as prom-client's Histogram.get() lists them. */
export interface HistogramSample {
  readonly metricName: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/** Options of {@link BoundHistogram}: prom-client's Histogram configuration, less exemplars and collect hooks. */
export interface BoundHistogramConfig<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  /** Upper bounds, ascending (`+Inf` is implied). */
  readonly buckets: readonly number[];
  readonly registers: readonly Registry[];
}

/** One label set's series of a {@link BoundHistogram}: what `labels()` binds, observed with no label lookup. */
export interface BoundHistogramChild {
  /** Counts `value` (seconds, rows, ...) in its bucket, the sum and the count. */
  observe(value: number): void;
}

class Series implements BoundHistogramChild {
  readonly labels: Readonly<Record<string, string | number>>;
  /** Per bucket (not cumulative), the last slot for values above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];

  constructor(labels: Readonly<Record<string, string | number>>, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`histogram value must be a finite number, got ${value}`);
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A Prometheus histogram for the request path. prom-client's Histogram hashes
 * and validates the labels on every observe, even through a child bound with
 * `labels()` (~3% of the inference node's CPU under unary load, three
 * observes per request); this one resolves the label set once, in `labels()`,
 * and a child's `observe` is a bucket search and three additions. It is
 * registered in prom-client's Registry and exposed in the same text format
 * (`_bucket{le=...}` cumulative, `_sum`, `_count`).
 */
export class BoundHistogram<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly labelNames: readonly T[];
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, Series>();

  constructor(config: BoundHistogramConfig<T>) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = [...config.labelNames];
    for (let i = 1; i < config.buckets.length; i++) {
      if (!(config.buckets[i]! > config.buckets[i - 1]!)) throw new RangeError(`${config.name}: buckets must be ascending, got ${config.buckets.join(',')}`);
    }
    this.#bounds = [...config.buckets];
    // The Registry reads name, help, type, aggregator, get() and reset(): this is a prom-client metric in all it uses.
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric);
  }

  /** The series of one label set, made on first use; keep it and observe through it. */
  labels(labels: Readonly<Record<T, string | number>>): BoundHistogramChild {
    const key = this.#key(labels);
    let series = this.#series.get(key);
    if (!series) {
      const own: Record<string, string | number> = {};
      for (const name of this.labelNames) own[name] = labels[name];
      this.#series.set(key, (series = new Series(Object.freeze(own), this.#bounds)));
    }
    return series;
  }

  /** Observes `value` under `labels` (a lookup per call: bind with {@link labels} on a hot path). */
  observe(labels: Readonly<Record<T, string | number>>, value: number): void {
    this.labels(labels).observe(value);
  }

  /** Drops one label set's series (children bound to it stop being exported). */
  remove(labels: Readonly<Record<T, string | number>>): void {
    this.#series.delete(this.#key(labels));
  }

  /** Drops every series (Registry.resetMetrics). */
  reset(): void {
    this.#series.clear();
  }

  /** The series as prom-client's Histogram.get() gives them. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: HistogramSample[] }> {
    const values: HistogramSample[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const s of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += s.counts[i]!;
        values.push({ metricName: bucketName, labels: { le: this.#bounds[i]!, ...s.labels }, value: cumulative });
      }
      values.push({ metricName: bucketName, labels: { le: '+Inf', ...s.labels }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: { ...s.labels }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...s.labels }, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  #key(labels: Readonly<Record<T, string | number>>): string {
    let key = '';
    for (const name of this.labelNames) {
      const value = labels[name];
      if (value === undefined) throw new TypeError(`${this.name}: label '${name}' is missing`);
      key += `${String(value)}\u0000`;
    }
    for (const name of Object.keys(labels)) {
      if (!(this.labelNames as readonly string[]).includes(name)) throw new TypeError(`${this.name}: unknown label '${name}' (labels: ${this.labelNames.join(', ')})`);
    }
    return key;
  }
}
