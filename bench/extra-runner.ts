// What an extra runner is and what the harness gives it (the list of runners is extra-runners.ts).
import type { GRPCInferenceServiceClient } from '../shared/generated/inference/GRPCInferenceService.js';
import type { BenchCase } from './cases.js';
import type { BenchOptions } from './options.js';
import type { AnnouncedProcess } from './processes.js';
import type { BenchReport } from './report.js';
import type { LoadRow } from './report-rows.js';

/** What a runner gets from the harness. */
export interface ExtraRunnerContext {
  options: BenchOptions;
  cases: readonly BenchCase[];
  cores: BenchReport['cores'];
  /** CPUs per side, for CPU shares (the pinned lists' lengths, or all CPUs unpinned). */
  serverCpuCount: number;
  clientCpuCount: number;
  /** The node under test (serving every case and its `_nobatch` twin), with its ModelStatistics client. */
  node: AnnouncedProcess;
  stats: GRPCInferenceServiceClient;
  /** Starts a compiled bench script (dist/bench/<script>) pinned to the server's CPUs; the caller stops it. */
  spawnServer(script: string, args: readonly string[]): Promise<AnnouncedProcess>;
  /** Scratch directory, removed after the run. */
  workDir: string;
  progress(line: string): void;
}

export interface ExtraRunner {
  readonly name: string;
  /** Why it cannot run here (e.g. a tool is missing), or undefined when it can. */
  unavailable(options: BenchOptions): string | undefined;
  run(ctx: ExtraRunnerContext): Promise<LoadRow[]>;
}
