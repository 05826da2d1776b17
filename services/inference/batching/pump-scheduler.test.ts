import { describe, expect, it } from 'vitest';
import { PumpScheduler } from './pump-scheduler.js';

const nextImmediate = () => new Promise((r) => setImmediate(r));

describe('PumpScheduler', () => {
  it('coalesces schedule() calls of one turn into one pump on the next setImmediate', async () => {
    let pumps = 0;
    const s = new PumpScheduler(() => pumps++);
    s.schedule();
    s.schedule();
    expect(pumps).toBe(0);
    await nextImmediate();
    expect(pumps).toBe(1);
    s.schedule();
    await nextImmediate();
    expect(pumps).toBe(2);
  });

  it('wakes at a time with one timer, keeping the earliest asked for', async () => {
    const at: number[] = [];
    const start = performance.now();
    const s = new PumpScheduler(() => at.push(performance.now() - start));
    s.wakeAt(200, 0);
    s.wakeAt(30, 0);
    s.wakeAt(100, 0);
    await expect.poll(() => at.length, { timeout: 1000 }).toBe(1);
    expect(at[0]!).toBeGreaterThanOrEqual(25);
    expect(at[0]!).toBeLessThan(190);
    await new Promise((r) => setTimeout(r, 250));
    expect(at).toHaveLength(1);
  });

  it('pumps on setImmediate for a wake-up less than a millisecond away, and cancel() drops a timed one', async () => {
    let pumps = 0;
    const s = new PumpScheduler(() => pumps++);
    s.wakeAt(10.5, 10);
    await nextImmediate();
    expect(pumps).toBe(1);
    s.wakeAt(20, 0);
    s.cancel();
    await new Promise((r) => setTimeout(r, 40));
    expect(pumps).toBe(1);
  });
});
