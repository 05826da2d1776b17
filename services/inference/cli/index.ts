import type { Command } from 'commander';
import { registerServeCommand } from './serve-command.js';
import { registerInferCommand } from './infer-command.js';
import { registerInferenceCommand } from './inference-command.js';

/** Registers the inference node's verbs: `serve`, `inference` (mesh mode) and `infer`. */
export function registerInferenceCommands(program: Command): void {
  registerServeCommand(program);
  registerInferenceCommand(program);
  registerInferCommand(program);
}

export { registerPlacementCommand } from './placement-command.js';
export { parseServeOptions, type ServeOptions } from './serve-command.js';
export { parsePort, parsePositiveInt } from './flags.js';
export { parseInferenceOptions, type InferenceOptions } from './inference-command.js';
