export { epochClock } from './epoch-clock.js';
