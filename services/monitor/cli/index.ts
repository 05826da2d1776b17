import type { Command } from 'commander';
import { monitorCommand } from './monitor-command.js';
import { tracesCommand } from './traces-command.js';
export { registerHealthCommands } from './health-commands.js';

/** Registers `infermesh monitor` and `infermesh traces list|show`. */
export function registerMonitorCommands(program: Command): void {
  program.addCommand(monitorCommand());
  program.addCommand(tracesCommand());
}

