import type { Command } from 'commander';
import { createLogger } from '../shared/logging/index.js';
import { parseBenchOptions } from './options.js';
import { formatReport } from './report.js';
import { runBench } from './run-bench.js';
import { join } from 'node:path';

/** Adds the benchmark's flags to a command (shared by `infermesh bench` and `npm run bench`). */
export function benchFlags(cmd: Command): Command {
  return cmd
    .option('--case <names>', 'built-in cases, comma-separated: mlp (tiny MLP, overhead-bound), ocr-cls (PP-OCR classifier, compute-bound)')
    .option('--model-repository <dir>', 'benchmark a model of this Triton-style repository (with --model)')
    .option('--model <name>', 'the model to benchmark from --model-repository')
    .option('--input-shape <dims>', "the model input's dynamic non-batch dims, comma-separated (e.g. 3,48,192)")
    .option('--concurrency <list>', 'requests in flight, swept (default 1,8,32,64,256)')
    .option('--modes <list>', 'unary and/or streaming (default both)')
    .option('--measure <list>', 'served,nobatch,transport,compute (default all)')
    .option('--warmup-ms <ms>', 'load before each measured window (default 300)')
    .option('--window-ms <ms>', 'measured window per point (default 1500)')
    .option('--compute-window-ms <ms>', 'compute-limit window per batch size (default 1000)')
    .option('--requests-per-stream <n>', 'streaming: in-flight requests per bidi stream (default 16)')
    .option('--connections <n>', 'HTTP/2 connections the load generator spreads requests over (default 4)')
    .option('--cost-rounds <n>', 'measured rounds (a window per setting, in rotating turns) of the tracing, records and security comparisons (default 3)')
    .option('--max-batch-size <n>', "override the cases' maxBatchSize")
    .option('--max-queue-delay-us <us>', "override the cases' maxQueueDelayUs")
    .option('--server-cores <list>', 'CPUs for the node, echo server and compute limit (e.g. 0 or 0-3)')
    .option('--client-cores <list>', 'CPUs for the load generator')
    .option('--no-pin', 'do not pin processes with taskset')
    .option('--profile-server', 'run the node under node --cpu-prof and summarise its profile')
    .option('--no-tracing-cost', 'skip the tracing-cost comparison (sampling off / 0.01 / 1 on the mlp case)')
    .option('--no-records-cost', 'skip the prediction-records cost comparison (records.sampleRate 0 / 0.01 / 1 on the mlp case, nodes on a nats-server)')
    .option('--no-security-cost', 'skip the security cost comparison (plaintext / TLS / TLS with token checks on the mlp case)')
    .option('--no-h2load', 'skip the h2load rows (unary through h2load against the node, the grpc-js floor and the node:http2 floor)')
    .option('--h2load-window-ms <ms>', 'measured window of each h2load row (default --window-ms)')
    .option('--connection-sweep <list>', 'h2load: connections swept with one request in flight each, mlp (default 1,2,4,8,16,32,64)')
    .option('--no-recommender', "skip the recommender's figures (training per epoch, Recommend at c=32; on only in the full default run)")
    .option('--out-dir <dir>', 'where report.json and the SVG charts go (default bench-results)');
}

/** Runs the benchmark from parsed flags, printing progress on stderr and the tables on stdout. */
export async function benchAction(raw: Record<string, unknown>): Promise<void> {
  const options = parseBenchOptions(raw);
  const logger = createLogger({ fields: { component: 'bench' } });
  const report = await runBench(options, logger, (line) => process.stderr.write(line + '\n'));
  process.stdout.write(formatReport(report) + '\n');
  process.stdout.write(`\nreport: ${join(options.outDir, 'report.json')}; charts: ${report.cases.map((c) => join(options.outDir, `${c.name}.svg`)).join(', ')}\n`);
}

/** Registers `infermesh bench`. */
export function registerBenchCommands(program: Command): void {
  benchFlags(program.command('bench').description('Benchmark a model on an inference node against its compute and transport limits (perf_analyzer style)')).action(benchAction);
}
