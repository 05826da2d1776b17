import { describe, expect, it } from 'vitest';
import { Code } from '../../../shared/errors/index.js';
import { dropReason, expiredEntries, firstLive, nextDispatch, NO_CURVE } from './dispatch.js';
import type { BatchCandidate, BatchPolicy } from './form-batch.js';
import { RequestQueue, type QueueEntry } from './request-queue.js';
import { ThroughputCurve } from './throughput-curve.js';

interface E extends BatchCandidate, QueueEntry {
  readonly id: number;
}

const policy: BatchPolicy = { maxBatchSize: 8, preferredBatchSizes: [], maxQueueDelayMs: 0, closing: false, arrivalGapMs: undefined, backlog: false };

function queueOf(...entries: Array<Partial<E> & { id: number }>): RequestQueue<E> {
  const q = new RequestQueue<E>(1, 100);
  for (const e of entries) q.push({ rows: 1, key: 'k', deadlineMs: Infinity, enqueuedAtMs: 0, level: 0, queued: false, ...e });
  return q;
}

const idle = { probePending: false, curve: undefined };

describe('nextDispatch', () => {
  it('batches the queue for a free instance without a curve: every same-key request up to maxBatchSize', () => {
    const q = queueOf({ id: 1 }, { id: 2, key: 'other' }, { id: 3 });
    const d = nextDispatch(q, idle, policy, 1);
    expect(d.kind).toBe('run');
    if (d.kind === 'run') {
      expect(d.entries.map((e) => e.id)).toEqual([1, 3]);
      expect(d.rows).toBe(2);
    }
  });

  it('changes nothing in the queue: asked twice it decides the same', () => {
    const q = queueOf({ id: 1 }, { id: 2 });
    const a = nextDispatch(q, idle, policy, 1);
    const b = nextDispatch(q, idle, policy, 1);
    expect(a).toEqual(b);
    expect(q.size).toBe(2);
  });

  it('sends an instance whose curve is pending to measure on the first live request, unless closing', () => {
    const q = queueOf({ id: 1, deadlineMs: 0 }, { id: 2 });
    const slot = { probePending: true, curve: new ThroughputCurve(8) };
    const d = nextDispatch(q, slot, policy, 1);
    expect(d).toMatchObject({ kind: 'probe', head: { id: 2 } });
    expect(nextDispatch(q, slot, { ...policy, closing: true }, 1).kind).toBe('run');
  });

  it('waits for the window when the batch is short of maxBatchSize, and reports expired entries', () => {
    const q = queueOf({ id: 1, deadlineMs: 1 }, { id: 2, enqueuedAtMs: 0 });
    const d = nextDispatch(q, idle, { ...policy, maxQueueDelayMs: 5 }, 2);
    expect(d).toMatchObject({ kind: 'wait', untilMs: 5 });
    expect(d.dropped?.map((e) => e.id)).toEqual([1]);
  });

  it('is idle on a queue with nothing live', () => {
    expect(nextDispatch(queueOf({ id: 1, deadlineMs: 1 }), idle, policy, 5).kind).toBe('idle');
  });
});

describe('queue helpers', () => {
  const aborted = new AbortController();
  aborted.abort();
  const entries = [
    { id: 1, rows: 1, key: 'k', deadlineMs: 5, enqueuedAtMs: 0 },
    { id: 2, rows: 1, key: 'k', deadlineMs: Infinity, enqueuedAtMs: 0, signal: aborted.signal },
    { id: 3, rows: 1, key: 'k', deadlineMs: Infinity, enqueuedAtMs: 0 },
  ];

  it('finds the first live entry and the expired or cancelled ones', () => {
    expect(firstLive(entries, 10)?.id).toBe(3);
    expect(expiredEntries(entries, 10)?.map((e) => e.id)).toEqual([1, 2]);
    expect(expiredEntries(entries.slice(2), 10)).toBeUndefined();
  });

  it('says why an entry is dropped, with how long it waited', () => {
    expect(dropReason(entries[1]!, 10).code).toBe(Code.CANCELLED);
    const late = dropReason(entries[0]!, 12.4);
    expect(late.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(late.message).toBe('the deadline passed after 12 ms in the queue; the request did not run');
  });

  it('NO_CURVE is never measured', () => {
    expect(NO_CURVE.measured).toBe(false);
    expect(NO_CURVE.bestSize(7)).toBe(7);
  });
});
