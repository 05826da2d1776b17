import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BoundHistogram } from './bound-histogram.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];

function both() {
  const theirs = new Registry();
  const ours = new Registry();
  const config = { name: 'x_seconds', help: 'A histogram.', labelNames: ['model', 'version'] as const, buckets: BUCKETS };
  return {
    theirs,
    ours,
    reference: new Histogram({ ...config, labelNames: [...config.labelNames], buckets: [...BUCKETS], registers: [theirs] }),
    bound: new BoundHistogram({ ...config, registers: [ours] }),
  };
}

describe('BoundHistogram', () => {
  it("exposes exactly what prom-client's Histogram exposes for the same observations", async () => {
    const { theirs, ours, reference, bound } = both();
    const values = [0.0005, 0.001, 0.002, 0.05, 0.5, 3, 0.0101];
    const a = bound.labels({ model: 'm', version: '1' });
    const b = bound.labels({ model: 'n', version: '2' });
    for (const v of values) {
      reference.labels({ model: 'm', version: '1' }).observe(v);
      a.observe(v);
    }
    reference.observe({ model: 'n', version: '2' }, 7);
    b.observe(7);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // The same samples as objects too, less prom-client's (always empty) exemplar slots.
    const withoutExemplars = (metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      metrics.map((m) => ({ ...m, values: m.values.map((v) => { const { exemplar: _, ...rest } = v as typeof v & { exemplar?: unknown }; return rest; }) }));
    expect(await ours.getMetricsAsJSON()).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));
  });

  it('binds one series per label set, and drops it on remove and reset', async () => {
    const { ours, bound } = both();
    expect(bound.labels({ model: 'm', version: '1' })).toBe(bound.labels({ version: '1', model: 'm' }));
    bound.observe({ model: 'm', version: '1' }, 0.5);
    expect(await ours.metrics()).toContain('x_seconds_count{model="m",version="1"} 1');
    bound.remove({ model: 'm', version: '1' });
    expect(await ours.metrics()).not.toContain('x_seconds_count');
    bound.observe({ model: 'm', version: '1' }, 0.5);
    ours.resetMetrics();
    expect(await ours.metrics()).not.toContain('x_seconds_count');
  });

  it('refuses a missing or unknown label, unordered buckets and a value that is not a number', () => {
    const { bound } = both();
    expect(() => bound.labels({ model: 'm' } as never)).toThrow(/label 'version' is missing/);
    expect(() => bound.labels({ model: 'm', version: '1', status: 'OK' } as never)).toThrow(/unknown label 'status'/);
    expect(() => bound.labels({ model: 'm', version: '1' }).observe(Number.NaN)).toThrow(/finite number/);
    expect(() => new BoundHistogram({ name: 'y', help: 'y', labelNames: [], buckets: [1, 0.5], registers: [] })).toThrow(/ascending/);
  });
});
