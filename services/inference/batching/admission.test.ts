import { Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Code, type InfermeshError } from '../../../shared/errors/index.js';
import type { ExecutionRequest } from '../execution/executor.js';
import { admitRequest, ArrivalGap, ARRIVAL_SMOOTHING, type AdmissionSettings } from './admission.js';

const settings: AdmissionSettings = { maxBatchSize: 4, maxQueueSize: 2, defaultTimeoutMs: 0, priorityLevels: 2 };
const ignore = () => {};

function request(rows: number, extra: Partial<ExecutionRequest> = {}): ExecutionRequest {
  return { inputs: { x: new Tensor('float32', new Float32Array(rows * 3), [rows, 3]) }, outputNames: [], priority: 0, deadlineMs: Infinity, ...extra };
}

function codeOf(fn: () => unknown): Code {
  try {
    fn();
  } catch (err) {
    return (err as InfermeshError).code;
  }
  throw new Error('expected a throw');
}

describe('admitRequest', () => {
  it('makes the queue entry: rows, shape key, deadline, level, not yet queued', () => {
    const r = request(3, { priority: 1, deadlineMs: 500 });
    const e = admitRequest(r, settings, 0, 100, ignore, ignore, undefined);
    expect(e).toMatchObject({ request: r, rows: 3, key: 'x:float32:3;', deadlineMs: 500, level: 1, enqueuedAtMs: 100, queued: false, queueSpan: undefined });
  });

  it('gives a request without deadline the default timeout, or none', () => {
    expect(admitRequest(request(1), { ...settings, defaultTimeoutMs: 50 }, 0, 100, ignore, ignore, undefined).deadlineMs).toBe(150);
    expect(admitRequest(request(1), settings, 0, 100, ignore, ignore, undefined).deadlineMs).toBe(Infinity);
  });

  it('does not read rows or keys of a model that does not batch', () => {
    const scalar = { inputs: { x: new Tensor('float32', new Float32Array([1]), []) }, outputNames: [], priority: 0, deadlineMs: Infinity };
    expect(admitRequest(scalar, { ...settings, maxBatchSize: 0 }, 0, 0, ignore, ignore, undefined)).toMatchObject({ rows: 1, key: '' });
  });

  it('refuses with the matching code: priority, rows, cancelled, deadline, queue full', () => {
    expect(() => admitRequest(request(1, { priority: 2 }), settings, 0, 0, ignore, ignore, undefined)).toThrow(/priority: expected an integer from 0 to 1 \(the model has 2 priority level\(s\)\), got 2/);
    expect(() => admitRequest(request(5), settings, 0, 0, ignore, ignore, undefined)).toThrow("batch dimension 5 exceeds the model's maxBatchSize 4");
    const aborted = new AbortController();
    aborted.abort();
    expect(codeOf(() => admitRequest(request(1, { signal: aborted.signal }), settings, 0, 0, ignore, ignore, undefined))).toBe(Code.CANCELLED);
    expect(codeOf(() => admitRequest(request(1, { deadlineMs: 10 }), settings, 0, 10, ignore, ignore, undefined))).toBe(Code.DEADLINE_EXCEEDED);
    expect(codeOf(() => admitRequest(request(1), settings, 2, 0, ignore, ignore, undefined))).toBe(Code.RESOURCE_EXHAUSTED);
  });
});

describe('ArrivalGap', () => {
  it('is unknown until the second arrival, then the first gap, then a moving average', () => {
    const g = new ArrivalGap();
    expect(g.observe(0)).toBeUndefined();
    expect(g.observe(10)).toBe(10);
    expect(g.observe(30)).toBeCloseTo(10 + ARRIVAL_SMOOTHING * (20 - 10));
    expect(g.gapMs).toBeCloseTo(12);
  });
});
