// Integers that cross the wire. protobuf's varint encoders (grpc-js through
// protobufjs) wrap a uint32 field silently: 4294967299 goes out as 3. A request
// whose value was wrapped cannot be told apart afterwards, so every integer is
// range-checked where it enters (flags, client calls, server handlers), with a
// message naming the field and the range.
import { invalidArgument } from '../errors/index.js';

/** Largest uint32 (2^32 - 1). */
export const UINT32_MAX = 0xffff_ffff;
/** Largest int32 (2^31 - 1). */
export const INT32_MAX = 0x7fff_ffff;
/** Largest integer a JS number holds exactly (2^53 - 1): the bound of uint64/int64 fields here. */
export const SAFE_INTEGER_MAX = Number.MAX_SAFE_INTEGER;

/**
 * `value` as an integer within [min, max], or INVALID_ARGUMENT
 * "`field` must be an integer from min to max, got value".
 */
export function checkIntegerInRange(value: number, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${field} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** A uint32 field (default range 0..2^32-1; narrower with `min`/`max`). */
export function checkUint32(value: number, field: string, min = 0, max = UINT32_MAX): number {
  return checkIntegerInRange(value, field, min, Math.min(max, UINT32_MAX));
}

/** A uint64 field held in a JS number: 0..2^53-1. */
export function checkUint64(value: number, field: string, min = 0): number {
  return checkIntegerInRange(value, field, min, SAFE_INTEGER_MAX);
}

/**
 * Parses a decimal integer typed by a person (a flag, an argument): digits
 * only (an optional leading '-'), within [min, max]. Rejects '', '1e3', '0x10',
 * '2.0' and anything out of range, with the same message as the checks above.
 */
export function parseIntegerText(text: string, field: string, min: number, max: number): number {
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) throw invalidArgument(`${field} must be an integer from ${min} to ${max}, got '${text}'`);
  const n = Number(trimmed);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw invalidArgument(`${field} must be an integer from ${min} to ${max}, got '${text}'`);
  return n;
}
