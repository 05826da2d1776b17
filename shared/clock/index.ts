export { createEpochClock, epochClock, type EpochClock, type EpochClockOptions } from './epoch-clock.js';
