import type { Command } from 'commander';
import { addModelsHistoryCommand, auditCommand } from './audit-commands.js';
import { modelsCommand } from './models-commands.js';
import { registryCommand } from './registry-command.js';
import { tokensCommand } from './tokens-commands.js';

/** Registers the registry's verbs: `registry` (the service), `models ...` (its CLI), `tokens ...` and `audit ...`. */
export function registerRegistryCommands(program: Command): void {
  program.addCommand(registryCommand());
  const models = modelsCommand();
  addModelsHistoryCommand(models);
  program.addCommand(models);
  program.addCommand(tokensCommand());
  program.addCommand(auditCommand());
}

