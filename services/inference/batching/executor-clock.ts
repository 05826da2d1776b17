import { epochClock } from '../../../shared/clock/index.js';

/** The clock deadlines and queue delays are read from: ms since the epoch, sub-ms precision welcome. */
export interface Clock {
  nowMs(): number;
}

/** A clock with sub-millisecond precision on the Date.now() scale, which deadlines are given in (shared/clock). */
export const systemClock: Clock = epochClock;
