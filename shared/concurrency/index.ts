export { createKeyedLock } from './keyed-lock.js';
