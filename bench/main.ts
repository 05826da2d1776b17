#!/usr/bin/env node
// `npm run bench`: the benchmark harness (the same as `infermesh bench`).
import { Command } from 'commander';
import { benchAction, benchFlags } from './command.js';

const program = benchFlags(new Command('bench').description('infermesh benchmark harness')).action(benchAction);
program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
