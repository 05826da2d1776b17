import type { Command } from 'commander';
import { Code, InfermeshError } from '../../../shared/errors/index.js';

/** A bad flag or argument: printed as is, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Runs a flag parser, turning what it throws into a UsageError (exit code 2) with the same message. */
export function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** Exit codes of every registry verb. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

/**
 * Runs a verb's action with the CLI's error rules: a UsageError exits 2, any
 * other failure exits 1 with the gRPC status name and message (no stack trace).
 */
export async function runVerb(verb: string, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`infermesh ${verb}: ${err.message}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    const e = InfermeshError.from(err);
    process.stderr.write(`infermesh ${verb}: ${Code[e.code]}: ${e.message}\n`);
    process.exitCode = EXIT.error;
  }
}

/** Makes commander's own usage errors (unknown option, missing argument) exit 2, and --help exit 0. */
export function usageExitCodes(command: Command): Command {
  return command.showHelpAfterError().exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage));
}
