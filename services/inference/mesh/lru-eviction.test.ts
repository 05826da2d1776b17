import { describe, expect, it } from 'vitest';
import { pickEvictions, type EvictionCandidate } from './lru-eviction.js';

const c = (version: string, sizeBytes: number, lastUsedMs: number): EvictionCandidate => ({ model: 'm', version, sizeBytes, lastUsedMs });

describe('pickEvictions (least recently used first)', () => {
  it('evicts the least recently used until the excess is freed, and no more', () => {
    const plan = pickEvictions([c('new', 100, 300), c('old', 100, 100), c('mid', 100, 200)], 150);
    expect(plan.victims.map((v) => v.version)).toEqual(['old', 'mid']);
    expect(plan.excessBytes).toBe(-50);
  });

  it('takes a never-used version (lastUsedMs 0) first', () => {
    expect(pickEvictions([c('used', 10, 5), c('never', 10, 0)], 1).victims.map((v) => v.version)).toEqual(['never']);
  });

  it('reports what is still over the budget when the candidates are not enough', () => {
    const plan = pickEvictions([c('a', 30, 1), c('b', 20, 2)], 100);
    expect(plan.victims.map((v) => v.version)).toEqual(['a', 'b']);
    expect(plan.excessBytes).toBe(50);
  });

  it('evicts nothing when it already fits, and leaves the input in its order', () => {
    const candidates = [c('b', 10, 2), c('a', 10, 1)];
    expect(pickEvictions(candidates, 0)).toEqual({ victims: [], excessBytes: 0 });
    pickEvictions(candidates, 15);
    expect(candidates.map((x) => x.version)).toEqual(['b', 'a']);
  });
});
