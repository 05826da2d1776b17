import { Code, InfermeshError } from '../../../shared/errors/index.js';

/** An integer flag within [min, max], with a message naming the flag. */
export function parseIntFlag(value: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${flag} must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, got '${value}'`);
  }
  return n;
}

/**
 * Runs a verb: a failure prints `infermesh <verb>: <CODE>: message` (or just
 * the message for a bad flag) on stderr and sets exit code 1, without a stack trace.
 */
export async function runCliAction(verb: string, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    const e = InfermeshError.from(err);
    const prefix = err instanceof InfermeshError || e.code !== Code.UNKNOWN ? `${Code[e.code]}: ` : '';
    process.stderr.write(`infermesh ${verb}: ${prefix}${e.message}\n`);
    process.exitCode = 1;
  }
}
