import { describe, expect, it } from 'vitest';
import { formBatch, type BatchCandidate, type BatchPolicy } from './form-batch.js';
import { ThroughputCurve, type CurveView } from './throughput-curve.js';

interface Req extends BatchCandidate {
  readonly id: number;
}

const NOW = 10_000;

function req(id: number, extra: Partial<Req> = {}): Req {
  return { id, rows: 1, key: 'k', deadlineMs: Infinity, enqueuedAtMs: NOW, ...extra };
}

function policy(extra: Partial<BatchPolicy> = {}): BatchPolicy {
  return { maxBatchSize: 32, preferredBatchSizes: [], maxQueueDelayMs: 0, closing: false, arrivalGapMs: undefined, backlog: false, ...extra };
}

/** A measured curve from batch times in µs per size (rows/s = size / time). */
function curveOf(maxBatchSize: number, batchUs: Record<number, number>): ThroughputCurve {
  const curve = new ThroughputCurve(maxBatchSize);
  for (const [size, us] of Object.entries(batchUs)) curve.setProbe(Number(size), us * 1000, 5);
  return curve;
}

/** The PP-OCR classifier's shape of curve: rows/s peaks at 4 (790 rows/s) and falls beyond (~500 rows/s at 16-32). */
const peakAt4 = () => curveOf(32, { 1: 2500, 2: 3600, 4: 5060, 8: 12_000, 16: 32_000, 32: 63_000 });

/** Runs formBatch to exhaustion over `queue`, as the executor would with one instance: the sizes (in rows) it forms. */
function drain(queue: Req[], p: BatchPolicy, curve: CurveView, now = NOW): number[] {
  const sizes: number[] = [];
  const waiting = [...queue];
  while (waiting.length > 0) {
    const d = formBatch(waiting, p, curve, now);
    expect(d.kind).toBe('run');
    if (d.kind !== 'run') break;
    sizes.push(d.rows);
    for (const e of d.entries) waiting.splice(waiting.indexOf(e), 1);
  }
  return sizes;
}

describe('formBatch', () => {
  it('forms batches at the peak of the curve under load (a curve that peaks at 4)', () => {
    const queue = Array.from({ length: 20 }, (_, i) => req(i));
    expect(drain(queue, policy(), peakAt4())).toEqual([4, 4, 4, 4, 4]);
    // In service order: the first batch is the four oldest requests.
    const d = formBatch(queue, policy(), peakAt4(), NOW);
    expect(d.kind === 'run' && d.entries.map((e) => e.id)).toEqual([0, 1, 2, 3]);
  });

  it('lets configured preferredBatchSizes win over the curve', () => {
    const queue = Array.from({ length: 20 }, (_, i) => req(i));
    expect(drain(queue, policy({ preferredBatchSizes: [8] }), peakAt4())).toEqual([8, 8, 4]);
  });

  it('never forms a size slower per row than a smaller one, for any number of rows waiting', () => {
    // Bumpy: 3 rows run slower per row than 2; 8 slower than 4; 16 is the peak; 32 slower than 16.
    const curve = curveOf(32, { 1: 1000, 2: 1200, 3: 2400, 4: 1800, 8: 4000, 16: 4200, 32: 12_000 });
    for (let waiting = 1; waiting <= 40; waiting++) {
      const d = formBatch(Array.from({ length: waiting }, (_, i) => req(i)), policy(), curve, NOW);
      expect(d.kind).toBe('run');
      if (d.kind !== 'run') continue;
      for (let smaller = 1; smaller < d.rows; smaller++) {
        expect(curve.rowsPerSecond(d.rows)).toBeGreaterThanOrEqual(curve.rowsPerSecond(smaller));
      }
    }
    expect(drain(Array.from({ length: 3 }, (_, i) => req(i)), policy(), curve)).toEqual([2, 1]);
    expect(drain(Array.from({ length: 40 }, (_, i) => req(i)), policy(), curve)).toEqual([16, 16, 4, 4]);
  });

  it('takes requests beyond the peak only when their deadline forces it', () => {
    const curve = peakAt4();
    // A run of 4 takes ~5 ms: requests due within two runs cannot wait for the next batch.
    const queue = Array.from({ length: 12 }, (_, i) => req(i, { deadlineMs: i < 7 ? NOW + 8 : NOW + 60_000 }));
    const d = formBatch(queue, policy(), curve, NOW);
    expect(d.kind).toBe('run');
    expect(d.kind === 'run' && d.entries.map((e) => e.id)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Without the urgent ones, the peak again.
    const relaxed = formBatch(queue.map((e) => ({ ...e, deadlineMs: Infinity })), policy(), curve, NOW);
    expect(relaxed.kind === 'run' && relaxed.rows).toBe(4);
  });

  it('waits for the peak within maxQueueDelay, then runs the best size for what it has', () => {
    const curve = peakAt4();
    const queue = [req(0), req(1, { enqueuedAtMs: NOW + 0.2 })];
    const p = policy({ maxQueueDelayMs: 0.5 });
    expect(formBatch(queue, p, curve, NOW + 0.3)).toMatchObject({ kind: 'wait', untilMs: NOW + 0.5 });
    expect(formBatch(queue, p, curve, NOW + 0.5)).toMatchObject({ kind: 'run', rows: 2 });
    // At the peak it goes without waiting.
    expect(formBatch([0, 1, 2, 3].map((i) => req(i)), p, curve, NOW)).toMatchObject({ kind: 'run', rows: 4 });
  });

  it('does not wait when requests arrive further apart than the delay window', () => {
    const lone = [req(0)];
    const p = policy({ maxQueueDelayMs: 0.5 });
    expect(formBatch(lone, p, peakAt4(), NOW)).toMatchObject({ kind: 'wait' });
    expect(formBatch(lone, { ...p, arrivalGapMs: 0.9 }, peakAt4(), NOW)).toMatchObject({ kind: 'run', rows: 1 });
    expect(formBatch(lone, { ...p, arrivalGapMs: 0.1 }, peakAt4(), NOW)).toMatchObject({ kind: 'wait' });
  });

  it('does not wait when the rows waiting do not fit the batch', () => {
    const p = policy({ maxQueueDelayMs: 0.5 });
    // 3 + 2 rows pass the peak of 4: the 3 go now rather than wait for a fourth.
    expect(formBatch([req(0, { rows: 3 }), req(1, { rows: 2 })], p, peakAt4(), NOW)).toMatchObject({ kind: 'run', rows: 3 });
    expect(formBatch([req(0, { rows: 3 }), req(1, { rows: 2 })], { ...p, maxBatchSize: 4 }, new ThroughputCurve(4), NOW)).toMatchObject({ kind: 'run', rows: 3 });
  });

  it('does not wait again for requests the last batch left behind', () => {
    const p = policy({ maxQueueDelayMs: 0.5 });
    expect(formBatch([req(0)], p, peakAt4(), NOW)).toMatchObject({ kind: 'wait' });
    expect(formBatch([req(0)], { ...p, backlog: true }, peakAt4(), NOW)).toMatchObject({ kind: 'run', rows: 1 });
  });

  it('without a measured curve takes as many rows as fit (maxBatchSize)', () => {
    const unmeasured = new ThroughputCurve(32);
    expect(drain(Array.from({ length: 40 }, (_, i) => req(i)), policy(), unmeasured)).toEqual([32, 8]);
  });

  it('returns expired and cancelled requests as dropped and never runs them', () => {
    const ac = new AbortController();
    ac.abort();
    const queue = [req(0, { deadlineMs: NOW - 1 }), req(1, { signal: ac.signal }), req(2), req(3, { key: 'other' })];
    const d = formBatch(queue, policy(), peakAt4(), NOW);
    expect(d.dropped?.map((e) => e.id)).toEqual([0, 1]);
    expect(d.kind === 'run' && d.entries.map((e) => e.id)).toEqual([2]);
    expect(formBatch([queue[0]!], policy(), peakAt4(), NOW)).toMatchObject({ kind: 'idle' });
  });

  it('batches only requests of the head key, and never beyond maxBatchSize in rows', () => {
    const queue = [req(0, { rows: 3 }), req(1, { key: 'x' }), req(2, { rows: 2 }), req(3, { rows: 3 })];
    const d = formBatch(queue, policy({ maxBatchSize: 6 }), new ThroughputCurve(6), NOW);
    expect(d.kind === 'run' && d.entries.map((e) => e.id)).toEqual([0, 2]);
    expect(d.kind === 'run' && d.rows).toBe(5);
  });

  it('with maxBatchSize 0 runs one request as sent', () => {
    const d = formBatch([req(0, { rows: 5 }), req(1)], policy({ maxBatchSize: 0 }), new ThroughputCurve(1), NOW);
    expect(d).toMatchObject({ kind: 'run', rows: 5 });
  });
});

describe('ThroughputCurve', () => {
  it('interpolates batch time between measured sizes and never extrapolates a gain beyond them', () => {
    const curve = curveOf(64, { 1: 100, 4: 160, 16: 800 });
    expect(curve.batchMs(8)).toBeCloseTo((160 + ((800 - 160) * 4) / 12) / 1000);
    expect(curve.rowsPerSecond(64)).toBeCloseTo(curve.rowsPerSecond(16));
    expect(curve.bestSize(64)).toBe(4);
    expect(curve.bestSize(3)).toBe(3);
    expect(curve.points().map((p) => [p.batchSize, Math.round(p.rowsPerSecond), p.source])).toEqual([
      [1, 10_000, 'probe'], [4, 25_000, 'probe'], [16, 20_000, 'probe'],
    ]);
  });

  it('follows the batches it serves: a size that runs faster than measured becomes the peak', () => {
    const curve = peakAt4();
    expect(curve.bestSize(32)).toBe(4);
    // Served batches of 8 run in 8 ms (1000 rows/s), faster than the probe said (667 rows/s).
    for (let i = 0; i < 20; i++) curve.record(8, 8_000_000);
    expect(curve.bestSize(32)).toBe(8);
    const eight = curve.points().find((p) => p.batchSize === 8)!;
    expect(eight).toMatchObject({ source: 'runs', runs: 25 });
    expect(eight.rowsPerSecond).toBeGreaterThan(950);
    // One batch 10x slower moves the average by the smoothing weight (0.2) of a doubling, no more.
    const before = curve.batchMs(8);
    curve.record(8, 80_000_000);
    expect(curve.batchMs(8)).toBeCloseTo(before * 1.2);
    expect(curve.bestSize(32)).toBe(8);
    // A lasting change gets through within a few batches.
    for (let i = 0; i < 10; i++) curve.record(8, 80_000_000);
    expect(curve.bestSize(32)).toBe(4);
  });

  it('counts the node\'s per-batch work: a size ORT alone runs slower per row can win once it is added', () => {
    // ORT: 10 µs for 1 row, 25 µs for 2 (slower per row); the node spends 50 µs per batch besides.
    const curve = curveOf(2, { 1: 10, 2: 25 });
    expect(curve.bestSize(2)).toBe(1);
    curve.setProbeOverhead(50_000);
    expect(curve.bestSize(2)).toBe(2);
    expect(curve.rowsPerSecond(2)).toBeCloseTo(2e9 / 75_000);
    expect(curve.batchMs(1)).toBeCloseTo(0.06);
    // Served batches then measure it; the load-time figure no longer applies.
    curve.record(1, 10_000, 0);
    expect(curve.batchOverheadNs).toBe(0);
    curve.setProbeOverhead(50_000);
    expect(curve.batchOverheadNs).toBe(0);
    expect(curve.bestSize(2)).toBe(1);
  });

  it('keeps a bounded number of sizes and ignores sizes outside 1..maxBatchSize', () => {
    const curve = new ThroughputCurve(1000, { maxPoints: 4 });
    for (let size = 1; size <= 10; size++) curve.record(size, 1000 * size);
    curve.record(0, 1000);
    curve.record(2000, 1000);
    curve.record(3, Number.NaN);
    expect(curve.points().map((p) => p.batchSize)).toEqual([1, 2, 3, 4]);
    expect(curve.measured).toBe(false);
  });
});
