/** A TCP port flag: an integer 0-65535 (0 = pick a free port). */
export function parsePort(value: unknown, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535 || String(value).trim() === '') throw new Error(`${flag} must be a port number 0-65535, got '${String(value)}'`);
  return n;
}

/** Largest delay a Node timer honours (2^31-1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 0x7fff_ffff;

/** A positive integer flag (e.g. a duration in ms), at most `max` (default {@link MAX_TIMER_MS}). */
export function parsePositiveInt(value: unknown, flag: string, max = MAX_TIMER_MS): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max || String(value).trim() === '') throw new Error(`${flag} must be an integer from 1 to ${max}, got '${String(value)}'`);
  return n;
}
