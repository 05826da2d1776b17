#!/usr/bin/env node
// The `infermesh` command. Each service contributes its verbs through a
// `register*Commands(program)` function; this file only assembles them.
import { Command } from 'commander';
import { registerBenchCommands, registerRecommenderBenchCommand } from '../bench/index.js';
import { registerInferenceCommands, registerPlacementCommand } from '../services/inference/index.js';
import { registerUpCommand } from './up.js';
import { registerNodesCommand } from './nodes-command.js';
import { addClientTlsOptionsToCallers } from '../shared/flags/index.js';
import { registerRecommenderCommands } from '../services/recommender/index.js';
import { registerRegistryCommands } from '../services/registry/index.js';
import { registerHealthCommands, registerMonitorCommands } from '../services/monitor/cli/index.js';

const program = new Command();
program
  .name('infermesh')
  .description('A gRPC mesh for model inference: inference nodes, registry, recommender and monitor.')
  .version('0.1.0')
  // Options after a verb belong to that verb: `infermesh models promote m 2 --version`
  // must not be taken by the root's -V/--version.
  .enablePositionalOptions()
  .showHelpAfterError();

// Service command registrations (one line each).
registerBenchCommands(program);
registerInferenceCommands(program);
registerUpCommand(program);
registerNodesCommand(program);
registerRecommenderBenchCommand(registerRecommenderCommands(program));
registerRegistryCommands(program);
registerMonitorCommands(program);
registerPlacementCommand(program);
registerHealthCommands(program); // after the registry's: adds `models health`
addClientTlsOptionsToCallers(program); // last: --tls-ca, --tls-client-cert/key on every verb that calls a service

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`infermesh: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
