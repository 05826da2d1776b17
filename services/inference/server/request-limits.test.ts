import { describe, expect, it } from 'vitest';
import { Code } from '../../../shared/errors/index.js';
import { RequestByteBudget } from './request-limits.js';

describe('RequestByteBudget', () => {
  it('holds bytes up to its budget, refuses beyond it naming the flag, and frees on release', () => {
    const budget = new RequestByteBudget(100);
    budget.acquire(60);
    budget.acquire(40);
    expect(() => budget.acquire(1)).toThrow(expect.objectContaining({ code: Code.RESOURCE_EXHAUSTED, message: expect.stringMatching(/holds 100 bytes .* budget of 100 \(--max-queued-request-bytes\)/) }));
    expect(budget.usedBytes).toBe(100);
    budget.release(60);
    budget.acquire(50);
    expect(budget.usedBytes).toBe(90);
  });

  it('lets a lone request larger than the budget through (the receive limit bounds it)', () => {
    const budget = new RequestByteBudget(10);
    budget.acquire(1000);
    expect(() => budget.acquire(1)).toThrow(/budget of 10/);
    budget.release(1000);
    expect(budget.usedBytes).toBe(0);
  });
});
