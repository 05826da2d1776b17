import { describe, expect, it } from 'vitest';
import { diffServingConfigs } from './config-diff.js';

describe('diffServingConfigs', () => {
  it('lists changed, added and removed keys, sorted, and nothing for equal configs', () => {
    expect(diffServingConfigs('{"maxBatchSize":32,"maxQueueDelayUs":500}', '{"maxBatchSize":0,"priorityLevels":2}')).toEqual([
      '  maxBatchSize: 32 -> 0',
      '- maxQueueDelayUs: 500',
      '+ priorityLevels: 2',
    ]);
    expect(diffServingConfigs('{"a":1,"b":[1,2]}', '{"b":[1,2],"a":1}')).toEqual([]);
    expect(diffServingConfigs('', '{}')).toEqual([]);
    expect(diffServingConfigs('{}', '{"instances":[{"device":"cpu","count":2}]}')).toEqual(['+ instances: [{"device":"cpu","count":2}]']);
  });
});
