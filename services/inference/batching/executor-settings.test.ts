import { describe, expect, it } from 'vitest';
import { DEFAULT_CURVE_PROBE_BUDGET_MS } from './curve-probe.js';
import { DEFAULT_MAX_QUEUE_SIZE, resolveBatchingSettings } from './executor-settings.js';

describe('resolveBatchingSettings', () => {
  it('applies the documented defaults and turns µs into ms', () => {
    expect(resolveBatchingSettings({ maxBatchSize: 8, maxQueueDelayUs: 2500 })).toEqual({
      maxBatchSize: 8,
      maxQueueDelayMs: 2.5,
      maxQueueSize: DEFAULT_MAX_QUEUE_SIZE,
      defaultTimeoutMs: 0,
      priorityLevels: 1,
      probeBudgetMs: DEFAULT_CURVE_PROBE_BUDGET_MS,
      preferredBatchSizes: [],
      executionThread: 'auto',
    });
  });

  it('sorts preferred sizes largest first and lets the override replace executionThread', () => {
    const s = resolveBatchingSettings({ maxBatchSize: 8, preferredBatchSizes: [2, 8, 4], executionThread: 'worker' }, 'main');
    expect(s.preferredBatchSizes).toEqual([8, 4, 2]);
    expect(s.executionThread).toBe('main');
  });

  it('names the field and the bound of every bad value', () => {
    expect(() => resolveBatchingSettings({ maxBatchSize: -1 })).toThrow('maxBatchSize: expected an integer >= 0, got -1');
    expect(() => resolveBatchingSettings({ maxBatchSize: 1.5 })).toThrow(/maxBatchSize/);
    expect(() => resolveBatchingSettings({ maxBatchSize: 4, maxQueueSize: 0 })).toThrow('maxQueueSize: expected an integer >= 1, got 0');
    expect(() => resolveBatchingSettings({ maxBatchSize: 4, priorityLevels: 0 })).toThrow(/priorityLevels/);
    expect(() => resolveBatchingSettings({ maxBatchSize: 4, maxQueueDelayUs: -5 })).toThrow(/maxQueueDelayUs/);
    expect(() => resolveBatchingSettings({ maxBatchSize: 4, preferredBatchSizes: [8] })).toThrow('preferredBatchSizes: 8 is not an integer from 1 to maxBatchSize (4)');
    expect(() => resolveBatchingSettings({ maxBatchSize: 4, executionThread: 'gpu' as 'main' })).toThrow(`executionThread: expected 'auto', 'main' or 'worker', got "gpu"`);
  });
});
