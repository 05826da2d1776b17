import type { Command } from 'commander';
import { modelsCommand } from './models-commands.js';
import { registryCommand } from './registry-command.js';

/** Registers the registry's verbs: `registry` (the service) and `models ...` (its CLI). */
export function registerRegistryCommands(program: Command): void {
  program.addCommand(registryCommand());
  program.addCommand(modelsCommand());
}

export { parseRegistryConfig, type RegistryConfig, type RegistryFlags } from './registry-config.js';
export { UsageError, EXIT } from './cli-errors.js';
