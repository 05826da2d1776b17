import type { Command } from 'commander';
import { registerOfflineCommands } from './offline-commands.js';
import { registerServiceCommands } from './service-commands.js';

/**
 * Registers `infermesh recommender` and its verbs (synth, eval, tune, ...), and
 * returns that command so that cli/main.ts can add `recommender bench`, which
 * lives in bench/ (it runs a registry and an inference node beside the recommender).
 */
export function registerRecommenderCommands(program: Command): Command {
  const recommender = program.command('recommender').description('The recommender: offline evaluation and synthetic data (verbs), or the service (no verb)');
  registerOfflineCommands(recommender);
  registerServiceCommands(recommender);
  return recommender;
}
