import { describe, expect, it } from 'vitest';
import { AUTO_WORKER_MIN_MODEL_BYTES, allowSpinning, decideByMeasurement, defaultIntraOpThreads, initialThread, measureHandoffNs } from './thread-placement.js';

describe('thread placement', () => {
  it('honours a configured thread, and for auto sends large models to workers and keeps one core on the event loop', () => {
    expect(initialThread('worker', 10, 1)).toEqual({ thread: 'worker', setting: 'worker', reason: 'configured' });
    expect(initialThread('main', AUTO_WORKER_MIN_MODEL_BYTES, 16)).toEqual({ thread: 'main', setting: 'main', reason: 'configured' });
    expect(initialThread('auto', AUTO_WORKER_MIN_MODEL_BYTES, 1)).toMatchObject({ thread: 'worker', setting: 'auto' });
    expect(initialThread('auto', 1000, 1)).toMatchObject({ thread: 'main', reason: expect.stringMatching(/one core/) });
    expect(initialThread('auto', 1000, 2)).toBe('measure');
  });

  it('moves a session to a worker once a run costs at least a hand-off', () => {
    expect(decideByMeasurement(40_000, 30_000)).toMatchObject({ thread: 'worker', runUs: 40, handoffUs: 30 });
    expect(decideByMeasurement(30_000, 30_000).thread).toBe('worker');
    expect(decideByMeasurement(5_000, 30_000)).toMatchObject({ thread: 'main', runUs: 5, handoffUs: 30 });
  });

  it('shares the cores among the instances, less the event loop\'s on workers', () => {
    expect(defaultIntraOpThreads('main', 2, 1)).toEqual([2]);
    expect(defaultIntraOpThreads('worker', 2, 1)).toEqual([1]);
    expect(defaultIntraOpThreads('worker', 16, 3)).toEqual([5, 5, 5]);
    expect(defaultIntraOpThreads('worker', 8, 3)).toEqual([3, 2, 2]);
    expect(defaultIntraOpThreads('main', 1, 2)).toEqual([1, 1]);
    expect(defaultIntraOpThreads('worker', 1, 1)).toEqual([1]);
  });

  it('lets ORT spin only where no thread takes the event loop\'s core', () => {
    // Event loop + 1 pool thread on 2 cores; event loop + worker on 2 cores.
    expect(allowSpinning('main', 2, [2])).toBe(true);
    expect(allowSpinning('worker', 2, [1])).toBe(true);
    expect(allowSpinning('worker', 2, [2])).toBe(false);
    expect(allowSpinning('main', 1, [2])).toBe(false);
    expect(allowSpinning('worker', 4, [2, 1])).toBe(true);
    expect(allowSpinning('worker', 4, [2, 2])).toBe(false);
  });

  it('measures a hand-off round trip once per process', async () => {
    const first = measureHandoffNs();
    expect(measureHandoffNs()).toBe(first);
    expect(await first).toBeGreaterThan(0);
  });
});
