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

/**
 * `--instances`: comma-separated devices, each `cpu` or `cuda:N`, optionally
 * `xCOUNT` sessions (e.g. `cuda:0`, `cuda:0x2,cuda:1`). Undefined or '' = not set.
 */
export function parseInstancesFlag(value: unknown, flag = '--instances'): Array<{ device: string; count: number }> | undefined {
  if (value === undefined || value === '') return undefined;
  return String(value)
    .split(',')
    .map((part) => {
      const m = /^(cpu|cuda:\d{1,3})(?:x(\d{1,3}))?$/.exec(part.trim());
      if (!m || (m[2] !== undefined && Number(m[2]) < 1)) {
        throw new Error(`${flag} takes devices like cpu, cuda:0 or cuda:0x2 (comma-separated), got '${part}'`);
      }
      return { device: m[1]!, count: m[2] === undefined ? 1 : Number(m[2]) };
    });
}
