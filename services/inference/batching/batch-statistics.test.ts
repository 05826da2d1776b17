import { describe, expect, it } from 'vitest';
import { batchOverheadNs, BatchStatisticsTable, handoffNs, type BatchTimes } from './batch-statistics.js';

const t: BatchTimes = { startNs: 100n, assembledNs: 110n, inferNs: 200n, runNs: 80n, outputNs: 205n };

describe('BatchStatisticsTable', () => {
  it('sums each size separately and lists sizes ascending, as copies', () => {
    const table = new BatchStatisticsTable();
    table.record(4, t);
    table.record(1, t);
    table.record(4, t);
    const snap = table.snapshot();
    expect(snap).toEqual([
      { batchSize: 1, count: 1, computeInputNs: 10n, computeInferNs: 80n, computeOutputNs: 5n },
      { batchSize: 4, count: 2, computeInputNs: 20n, computeInferNs: 160n, computeOutputNs: 10n },
    ]);
    snap[0]!.count = 99;
    expect(table.snapshot()[0]!.count).toBe(1);
  });
});

describe('batch times', () => {
  it('counts the hand-off (assembly to run end, less the run) as waiting, and as overhead only on a worker', () => {
    expect(handoffNs(t)).toBe(10n);
    expect(batchOverheadNs(t, false)).toBe(15n);
    expect(batchOverheadNs(t, true)).toBe(25n);
  });
});
