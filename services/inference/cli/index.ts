import type { Command } from 'commander';
import { registerServeCommand } from './serve-command.js';
import { registerInferCommand } from './infer-command.js';

/** Registers the inference node's verbs: `serve` and `infer`. */
export function registerInferenceCommands(program: Command): void {
  registerServeCommand(program);
  registerInferCommand(program);
}

export { parseServeOptions, type ServeOptions } from './serve-command.js';
export { parsePort, parsePositiveInt } from './flags.js';
