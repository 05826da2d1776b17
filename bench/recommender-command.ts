import type { Command } from 'commander';
import { createLogger } from '../shared/logging/index.js';
import { runRecommenderBench } from './recommender.js';
import { parseNumberFlag } from '../services/recommender/cli/flags.js';

/** Registers `recommender bench`: the recommender's figures as one JSON object on stdout. */
export function registerRecommenderBenchCommand(recommender: Command): void {
  recommender
    .command('bench')
    .description('Training time per epoch (1M interactions, 6000 users, 4000 items, d=64) and Recommend p50/p99/throughput at concurrency 32 over 100,000 items')
    .option('--train-epochs <n>', 'epochs timed', '2')
    .option('--train-threads <n>', 'threads of the training figure (default: all cores)')
    .option('--catalogue-items <n>', 'catalogue size of the serving figure', '100000')
    .option('--concurrency <n>', 'Recommend calls in flight', '32')
    .option('--duration-ms <ms>', 'measurement window of the serving figure', '10000')
    .option('--skip-training', 'only the serving figure')
    .option('--skip-serving', 'only the training figure')
    .action(async (raw: Record<string, unknown>) => {
      const report = await runRecommenderBench({
        trainEpochs: parseNumberFlag(raw.trainEpochs, '--train-epochs', { integer: true, min: 1, max: 100 }),
        ...(raw.trainThreads === undefined ? {} : { trainThreads: parseNumberFlag(raw.trainThreads, '--train-threads', { integer: true, min: 1, max: 256 }) }),
        catalogueItems: parseNumberFlag(raw.catalogueItems, '--catalogue-items', { integer: true, min: 100 }),
        concurrency: parseNumberFlag(raw.concurrency, '--concurrency', { integer: true, min: 1, max: 10_000 }),
        durationMs: parseNumberFlag(raw.durationMs, '--duration-ms', { integer: true, min: 100 }),
        skipTraining: raw.skipTraining === true,
        skipServing: raw.skipServing === true,
        logger: createLogger({ fields: { component: 'recommender.bench' } }),
      });
      process.stdout.write(JSON.stringify(report) + '\n');
    });
}
