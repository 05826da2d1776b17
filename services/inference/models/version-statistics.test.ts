import { describe, expect, it } from 'vitest';
import { VersionStatistics } from './version-statistics.js';

const timings = (ns: number) => ({ queueNs: ns, computeInputNs: 1, computeInferNs: 2, computeOutputNs: 3 });

describe('VersionStatistics', () => {
  it('sums whole-ns numbers exactly, also past what a double holds exactly', () => {
    const s = new VersionStatistics();
    // 2^52 + 1 three times: a double sum would lose the ones (2^53 and beyond has no odd numbers).
    const big = 2 ** 52 + 1;
    for (let i = 0; i < 3; i++) s.recordSuccess(2, big, timings(big), 1000 + i);
    s.recordSuccess(1, 7, timings(5));
    expect(s.success).toMatchObject({ count: 4 });
    expect(s.success.ns).toBe(3n * (2n ** 52n + 1n) + 7n);
    expect(s.queue.ns).toBe(3n * (2n ** 52n + 1n) + 5n);
    expect(s.computeOutput.ns).toBe(12n);
    expect(s.inferenceCount).toBe(7);
  });

  it('counts failures apart from successes', () => {
    const s = new VersionStatistics();
    s.recordFailure(40, 5);
    s.recordFailure(2, 6);
    expect([s.fail.count, s.fail.ns, s.success.count, s.lastInferenceMs]).toEqual([2, 42n, 0, 6]);
  });
});
