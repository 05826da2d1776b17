/**
 * A wall clock with sub-millisecond precision: ms since the epoch on the
 * Date.now() scale, advancing by the monotonic clock (performance.now()).
 *
 * `performance.timeOrigin + performance.now()` alone drifts away from
 * Date.now() over a process's life (the monotonic clock is not slewed by NTP
 * the way the wall clock is: tens of ms an hour are common), while OpenTelemetry
 * anchors every span it times itself to Date.now() at its start. Spans timed with
 * the raw monotonic sum would slowly slide out of their parents. So the anchor
 * to the wall clock is re-checked every `resyncIntervalMs` and moved only when it
 * is off by more than `resyncThresholdMs` (Date.now() itself has whole-ms
 * steps, so smaller differences are its granularity, not drift).
 */
export interface EpochClock {
  /** Now, in ms since the epoch, with sub-ms precision. */
  nowMs(): number;
}

export interface EpochClockOptions {
  /** Wall clock, ms since the epoch. Default Date.now. */
  wallNowMs?: () => number;
  /** Monotonic clock, ms from any origin. Default performance.now. */
  monotonicNowMs?: () => number;
  /** How often the anchor is compared with the wall clock. Default 1000 ms. */
  resyncIntervalMs?: number;
  /** Drift that moves the anchor. Default 2 ms. */
  resyncThresholdMs?: number;
}

/** Creates an {@link EpochClock}; see the module comment for how it follows the wall clock. */
export function createEpochClock(options: EpochClockOptions = {}): EpochClock {
  const wall = options.wallNowMs ?? Date.now;
  const mono = options.monotonicNowMs ?? (() => performance.now());
  const interval = options.resyncIntervalMs ?? 1000;
  const threshold = options.resyncThresholdMs ?? 2;
  let checkedAt = mono();
  let anchor = wall() - checkedAt;
  return {
    nowMs() {
      const m = mono();
      if (m - checkedAt >= interval) {
        checkedAt = m;
        const fresh = wall() - m;
        if (Math.abs(fresh - anchor) > threshold) anchor = fresh;
      }
      return anchor + m;
    },
  };
}

/** The process's clock for deadlines, queue delays and explicitly timed spans. */
export const epochClock: EpochClock = createEpochClock();
