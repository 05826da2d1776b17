import { describe, expect, it } from 'vitest';
import { Backoff, resolveBackoffOptions, sleep } from './backoff.js';

describe('Backoff', () => {
  it('doubles from the initial delay up to the cap, and starts again after reset', () => {
    const b = new Backoff({ initialDelayMs: 100, maxDelayMs: 500 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 500, 500]);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('draws a jittered pause below the base delay', () => {
    const b = new Backoff({ initialDelayMs: 1000, maxDelayMs: 1000, jitter: 0.5 });
    for (let i = 0; i < 20; i++) {
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(500);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });

  it('names the bad option', () => {
    expect(() => resolveBackoffOptions({ initialDelayMs: -1 })).toThrow(/initialDelayMs/);
    expect(() => resolveBackoffOptions({ initialDelayMs: 100, maxDelayMs: 50 })).toThrow(/maxDelayMs/);
    expect(() => resolveBackoffOptions({ multiplier: 0.5 })).toThrow(/multiplier/);
    expect(() => resolveBackoffOptions({ jitter: 2 })).toThrow(/jitter/);
  });

  it('sleep returns at once when the signal aborts', async () => {
    const ac = new AbortController();
    const slept = sleep(60_000, ac.signal);
    ac.abort();
    await expect(slept).resolves.toBeUndefined();
  });
});
