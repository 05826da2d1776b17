import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { createLogger } from '../../../shared/logging/index.js';
import {
  DEFAULT_TUNE_GRID,
  readNegativesFile,
  readRatingsFile,
  runOfflineEvaluation,
  tuneIals,
  writeNcfFiles,
  type TuneGrid,
} from '../evaluation/index.js';
import { resolveIalsParams } from '../learning/index.js';
import { generateSynthetic } from '../synth/index.js';
import { parseNumberFlag, parseNumberListFlag } from './flags.js';
import { addIalsFlags, parseIalsFlags } from './ials-flags.js';

const fmt = (x: number) => x.toFixed(4);

/** Registers `recommender synth`, `recommender eval` and `recommender tune` (offline, no services). */
export function registerOfflineCommands(recommender: Command): void {
  recommender
    .command('synth')
    .description('Write synthetic interactions with known latent structure as NCF files (train.rating, test.rating, test.negative)')
    .requiredOption('--users <n>', 'number of users')
    .requiredOption('--items <n>', 'number of items')
    .requiredOption('--interactions <n>', 'total interactions (approximately)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--dim <n>', 'dimension of the true latent factors', '16')
    .option('--skew <x>', 'Zipf exponent of item popularity', '0.8')
    .option('--affinity <x>', 'weight of the latent affinity against popularity', '2.5')
    .option('--seed <n>', 'random seed', '1')
    .action((raw: Record<string, string>) => {
      const users = parseNumberFlag(raw.users, '--users', { integer: true, min: 1 });
      const items = parseNumberFlag(raw.items, '--items', { integer: true, min: 101 });
      const interactions = parseNumberFlag(raw.interactions, '--interactions', { integer: true, min: 2 * users });
      const data = generateSynthetic({
        users,
        items,
        interactions,
        dim: parseNumberFlag(raw.dim, '--dim', { integer: true, min: 1 }),
        popularitySkew: parseNumberFlag(raw.skew, '--skew', { min: 0 }),
        affinity: parseNumberFlag(raw.affinity, '--affinity', { min: 0 }),
        seed: parseNumberFlag(raw.seed, '--seed', { integer: true, min: 0 }),
      });
      mkdirSync(raw.out!, { recursive: true });
      const paths = writeNcfFiles(raw.out!, data);
      process.stdout.write(JSON.stringify({ files: paths, users, items, trainInteractions: data.train.user.length, testInteractions: data.test.user.length }) + '\n');
    });

  addIalsFlags(
    recommender
      .command('eval')
      .description('Offline evaluation by the NCF protocol: HR@k and NDCG@k of iALS and of the popularity baseline')
      .requiredOption('--train <file>', 'training ratings (user\\titem\\trating\\ttimestamp)')
      .requiredOption('--negatives <file>', 'test negatives ((user,item)\\tneg1\\t...)')
      .option('--test <file>', 'test ratings (checked against the negatives file, which carries the same pairs)')
      .option('--k <n>', 'cutoff', '10')
      .option('--threads <n>', 'threads the training half-steps are split over', String(availableParallelism()))
      .option('--tune', 'choose the parameters first on held-out training data (grid: the --grid-* flags)')
      .option('--grid-dim <list>', 'tuning grid: dimensions', DEFAULT_TUNE_GRID.dim.join(','))
      .option('--grid-regularization <list>', 'tuning grid: λ values', DEFAULT_TUNE_GRID.regularization.join(','))
      .option('--grid-unobserved-weight <list>', 'tuning grid: α0 values', DEFAULT_TUNE_GRID.unobservedWeight.join(','))
      .option('--grid-max-epochs <n>', 'tuning grid: epochs 1..n are candidates', String(DEFAULT_TUNE_GRID.maxEpochs)),
  ).action(async (raw: Record<string, unknown>) => {
    const logger = createLogger({ fields: { component: 'recommender.eval' } });
    const threads = parseNumberFlag(raw.threads, '--threads', { integer: true, min: 1, max: 256 });
    const params = parseIalsFlags(raw);
    const k = parseNumberFlag(raw.k, '--k', { integer: true, min: 1, max: 1000 });
    const grid = raw.tune ? parseGridFlags(raw) : undefined;
    const train = readRatingsFile(String(raw.train));
    const cases = readNegativesFile(String(raw.negatives));
    if (raw.test) checkTestFile(String(raw.test), cases);
    const r = await runOfflineEvaluation(train, cases, {
      k,
      threads,
      params,
      tune: grid,
      onTrial: (t) => logger.info('tune', { dim: t.params.dim, regularization: t.params.regularization, unobservedWeight: t.params.unobservedWeight, epoch: t.params.epochs, hr: t.metrics.hitRate, ndcg: t.metrics.ndcg }),
      onEpoch: (e) => logger.info('epoch', { epoch: e.epoch, loss: e.loss, seconds: e.seconds, gflops: e.flops / e.seconds / 1e9 }),
    });
    process.stdout.write(
      [
        `model       HR@${k}    NDCG@${k}   (${r.ials.cases} users)`,
        `iALS        ${fmt(r.ials.hitRate)}   ${fmt(r.ials.ndcg)}`,
        `popularity  ${fmt(r.popularity.hitRate)}   ${fmt(r.popularity.ndcg)}`,
        `parameters  ${JSON.stringify(r.params)}`,
        JSON.stringify({ k, ials: r.ials, popularity: r.popularity, params: r.params, epochs: r.epochs }),
        '',
      ].join('\n'),
    );
  });

  addIalsFlags(
    recommender
      .command('tune')
      .description('Choose iALS parameters on held-out training data (each user\'s latest interaction, 99 sampled negatives)')
      .requiredOption('--train <file>', 'training ratings')
      .option('--k <n>', 'cutoff', '10')
      .option('--threads <n>', 'threads the training half-steps are split over', String(availableParallelism()))
      .option('--grid-dim <list>', 'dimensions', DEFAULT_TUNE_GRID.dim.join(','))
      .option('--grid-regularization <list>', 'λ values', DEFAULT_TUNE_GRID.regularization.join(','))
      .option('--grid-unobserved-weight <list>', 'α0 values', DEFAULT_TUNE_GRID.unobservedWeight.join(','))
      .option('--grid-max-epochs <n>', 'epochs 1..n are candidates', String(DEFAULT_TUNE_GRID.maxEpochs)),
  ).action(async (raw: Record<string, unknown>) => {
    const logger = createLogger({ fields: { component: 'recommender.tune' } });
    const threads = parseNumberFlag(raw.threads, '--threads', { integer: true, min: 1, max: 256 });
    const base = parseIalsFlags(raw);
    const grid = parseGridFlags(raw);
    const k = parseNumberFlag(raw.k, '--k', { integer: true, min: 1, max: 1000 });
    const { best, trials } = await tuneIals(readRatingsFile(String(raw.train)), grid, {
      base,
      k,
      threads,
      onTrial: (t) => logger.info('trial', { dim: t.params.dim, regularization: t.params.regularization, unobservedWeight: t.params.unobservedWeight, epoch: t.params.epochs, hr: t.metrics.hitRate, ndcg: t.metrics.ndcg }),
    });
    process.stdout.write(JSON.stringify({ best: { params: resolveIalsParams(best.params), metrics: best.metrics }, trials: trials.length }) + '\n');
  });
}

function parseGridFlags(raw: Record<string, unknown>): TuneGrid {
  return {
    dim: parseNumberListFlag(raw.gridDim, '--grid-dim', { integer: true, min: 1, max: 4096 }),
    regularization: parseNumberListFlag(raw.gridRegularization, '--grid-regularization', { min: 0 }),
    unobservedWeight: parseNumberListFlag(raw.gridUnobservedWeight, '--grid-unobserved-weight', { min: 0 }),
    maxEpochs: parseNumberFlag(raw.gridMaxEpochs, '--grid-max-epochs', { integer: true, min: 1, max: 1000 }),
  };
}

function checkTestFile(path: string, cases: ReturnType<typeof readNegativesFile>): void {
  const test = readRatingsFile(path);
  const byUser = new Map(cases.map((c) => [c.user, c.item]));
  for (let k = 0; k < test.user.length; k++) {
    if (byUser.get(test.user[k]!) !== test.item[k]) {
      throw new Error(`${path} line ${k + 1}: (user ${test.user[k]}, item ${test.item[k]}) is not the pair the negatives file holds for that user`);
    }
  }
}
