import type { Command } from 'commander';
import { registerOfflineCommands } from './offline-commands.js';
import { registerServiceCommands } from './service-commands.js';
import { registerBenchCommand } from './bench-command.js';

/** Registers `infermesh recommender` and its verbs (synth, eval, tune, ...). */
export function registerRecommenderCommands(program: Command): void {
  const recommender = program.command('recommender').description('The recommender: offline evaluation and synthetic data (verbs), or the service (no verb)');
  registerOfflineCommands(recommender);
  registerServiceCommands(recommender);
  registerBenchCommand(recommender);
}
