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
// Kept for test/unit/wire-integers.test.ts, which imports it from here; new code imports shared/flags.
export { parsePositiveInt } from '../../../shared/flags/index.js';
