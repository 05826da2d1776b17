/** A TCP port flag: an integer 0-65535 (0 = pick a free port). */
export function parsePort(value: unknown, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535 || String(value).trim() === '') throw new Error(`${flag} must be a port number 0-65535, got '${String(value)}'`);
  return n;
}

/** A positive integer flag (e.g. a duration in ms). */
export function parsePositiveInt(value: unknown, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got '${String(value)}'`);
  return n;
}
