import { describe, expect, it } from 'vitest';
import { CURVE_PUBLISH_INTERVAL_MS, CurvePublisher, meanRowsPerSecond } from './curve-gauges.js';
import type { ThroughputPoint } from '../execution/executor.js';

const curve = (points: Array<[number, number]>) => ({
  points: (): ThroughputPoint[] => points.map(([batchSize, rowsPerSecond]) => ({ batchSize, rowsPerSecond, runs: 1, source: 'runs' as const })),
});

describe('meanRowsPerSecond', () => {
  it('averages over the instances that have a point at each size', () => {
    expect(meanRowsPerSecond([curve([[1, 100], [4, 300]]), curve([[1, 200]]), undefined])).toEqual(new Map([[1, 150], [4, 300]]));
  });
});

describe('CurvePublisher', () => {
  it('publishes at most once per interval unless forced', () => {
    let now = 0;
    const published: Array<[number, number]> = [];
    const p = new CurvePublisher(() => [curve([[2, 50]])], (size, rps) => published.push([size, rps]), { nowMs: () => now });
    p.publish(false);
    now += CURVE_PUBLISH_INTERVAL_MS - 1;
    p.publish(false);
    expect(published).toHaveLength(1);
    p.publish(true);
    now += CURVE_PUBLISH_INTERVAL_MS;
    p.publish(false);
    expect(published).toEqual([[2, 50], [2, 50], [2, 50]]);
  });

  it('does nothing without a gauge', () => {
    let read = 0;
    new CurvePublisher(() => (read++, []), undefined, { nowMs: () => 0 }).publish(true);
    expect(read).toBe(0);
  });
});
