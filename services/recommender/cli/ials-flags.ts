import type { Command } from 'commander';
import { DEFAULT_IALS_PARAMS, type IalsParams } from '../learning/index.js';
import { parseNumberFlag } from './flags.js';

/** Adds the iALS training flags (each defaulting to DEFAULT_IALS_PARAMS) to a command. */
export function addIalsFlags(cmd: Command): Command {
  const d = DEFAULT_IALS_PARAMS;
  return cmd
    .option('--dim <n>', 'latent dimension', String(d.dim))
    .option('--epochs <n>', 'training epochs', String(d.epochs))
    .option('--regularization <x>', 'L2 weight λ', String(d.regularization))
    .option('--regularization-exponent <x>', 'ν: 0 plain L2, 1 frequency-scaled (Rendle et al.)', String(d.regularizationExponent))
    .option('--unobserved-weight <x>', 'α0, weight of unobserved pairs', String(d.unobservedWeight))
    .option('--observed <kind>', "'binary' (Rendle et al.) or 'confidence' (Hu et al., c = 1 + alpha·r)", d.observed)
    .option('--alpha <x>', "confidence scale with --observed confidence", String(d.alpha))
    .option('--seed <n>', 'initialisation seed', String(d.seed));
}

/** Reads the iALS flags added by addIalsFlags, with a message per bad value. */
export function parseIalsFlags(raw: Record<string, unknown>): Partial<IalsParams> {
  const observed = String(raw.observed);
  if (observed !== 'binary' && observed !== 'confidence') throw new Error(`--observed must be 'binary' or 'confidence', got '${observed}'`);
  return {
    dim: parseNumberFlag(raw.dim, '--dim', { integer: true, min: 1, max: 4096 }),
    epochs: parseNumberFlag(raw.epochs, '--epochs', { integer: true, min: 0, max: 10_000 }),
    regularization: parseNumberFlag(raw.regularization, '--regularization', { min: 0 }),
    regularizationExponent: parseNumberFlag(raw.regularizationExponent, '--regularization-exponent', { min: 0, max: 4 }),
    unobservedWeight: parseNumberFlag(raw.unobservedWeight, '--unobserved-weight', { min: 0 }),
    observed,
    alpha: parseNumberFlag(raw.alpha, '--alpha', { min: 0 }),
    seed: parseNumberFlag(raw.seed, '--seed', { integer: true, min: 0 }),
  };
}
