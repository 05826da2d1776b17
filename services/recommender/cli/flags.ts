/** Parses a numeric flag; `check` states the accepted range in the message. */
export function parseNumberFlag(value: unknown, flag: string, check: { integer?: boolean; min?: number; max?: number } = {}): number {
  const n = Number(value);
  const { integer = false, min = -Infinity, max = Infinity } = check;
  if (String(value ?? '').trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    const range = [min > -Infinity ? `≥ ${min}` : '', max < Infinity ? `≤ ${max}` : ''].filter(Boolean).join(' and ');
    throw new Error(`${flag} must be ${integer ? 'an integer' : 'a number'}${range ? ' ' + range : ''}, got '${String(value)}'`);
  }
  return n;
}

/** Parses a comma-separated list of numbers (`--grid-dim 32,64,128`). */
export function parseNumberListFlag(value: unknown, flag: string, check: { integer?: boolean; min?: number; max?: number } = {}): number[] {
  const parts = String(value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error(`${flag} must be a comma-separated list of numbers, got '${String(value)}'`);
  return parts.map((p) => parseNumberFlag(p, flag, check));
}
