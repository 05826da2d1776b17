export { checkIntegerInRange, checkUint32, checkUint64, parseIntegerText, SAFE_INTEGER_MAX, UINT32_MAX } from './wire-integers.js';
