import { describe, expect, it } from 'vitest';
import { createEpochClock } from './epoch-clock.js';

/** A wall clock and a monotonic clock the test moves by hand. */
function clocks(wallStart: number) {
  const state = { wall: wallStart, mono: 100 };
  return {
    state,
    advance(ms: number, wallDriftMs = 0) {
      state.mono += ms;
      state.wall += ms + wallDriftMs;
    },
    options: { wallNowMs: () => state.wall, monotonicNowMs: () => state.mono },
  };
}

describe('createEpochClock', () => {
  it('reads the wall clock with the monotonic clock’s sub-millisecond steps', () => {
    const c = clocks(1_700_000_000_000);
    const clock = createEpochClock(c.options);
    expect(clock.nowMs()).toBe(1_700_000_000_000);
    c.advance(0.25);
    expect(clock.nowMs()).toBeCloseTo(1_700_000_000_000.25, 6);
  });

  it('follows the wall clock when the two drift apart by more than the threshold', () => {
    const c = clocks(1_700_000_000_000);
    const clock = createEpochClock({ ...c.options, resyncIntervalMs: 1000, resyncThresholdMs: 2 });
    // An hour of NTP slewing: the wall clock ran 40 ms ahead of the monotonic one.
    c.advance(3_600_000, 40);
    expect(clock.nowMs()).toBe(c.state.wall);
    c.advance(0.5);
    expect(clock.nowMs()).toBeCloseTo(c.state.wall, 6);
  });

  it('ignores differences within Date.now()’s whole-millisecond granularity', () => {
    const c = clocks(1_700_000_000_000);
    const clock = createEpochClock({ ...c.options, resyncIntervalMs: 1000, resyncThresholdMs: 2 });
    c.advance(5_000, 0.9);
    // Off by 0.9 ms: the anchor stays, so short spans keep exact durations.
    expect(clock.nowMs()).toBeCloseTo(1_700_000_005_000, 6);
  });

  it('does not look at the wall clock between resyncs', () => {
    const c = clocks(1_700_000_000_000);
    const clock = createEpochClock({ ...c.options, resyncIntervalMs: 1000, resyncThresholdMs: 2 });
    c.advance(500, 100);
    expect(clock.nowMs()).toBe(1_700_000_000_500);
  });
});
