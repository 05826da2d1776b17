import { resolve } from 'node:path';
import { BUILT_IN_CASES, type BuiltInCase } from './cases.js';
import { parseCpuList } from './processes.js';

export type Mode = 'unary' | 'streaming';
export type Measure = 'served' | 'nobatch' | 'transport' | 'compute';

/** What one benchmark run does. Defaults keep `npm run bench` to a few minutes on 2 cores. */
export interface BenchOptions {
  /** Built-in cases to run (default mlp and ocr-cls; none when --model is given alone). */
  cases: BuiltInCase[];
  /** A model of a Triton-style repository to run as well. */
  repository?: { dir: string; model: string; inputShape?: number[] };
  /** Requests in flight, swept. Default 1, 8, 32, 64, 256. */
  concurrency: number[];
  /** Default unary and streaming. */
  modes: Mode[];
  /** What to measure. Default all four. */
  measure: Set<Measure>;
  /** Per window: load before measuring, then the measured time, in ms. Defaults 300 and 1500. */
  warmupMs: number;
  windowMs: number;
  /** Per batch size of the compute limit, in ms. Default 1000. */
  computeWindowMs: number;
  /** Streaming: in-flight requests per bidi stream. Default 16. */
  requestsPerStream: number;
  /** HTTP/2 connections the load generator spreads its requests over. Default 4. */
  connections: number;
  /**
   * Measured rounds of each cost comparison (tracing, records, security), each a window per
   * setting in rotating turns: more rounds cancel more of a noisy machine's drift. Default 3.
   */
  costRounds: number;
  /** Where report.json and the charts go. Default bench-results. */
  outDir: string;
  /** CPUs for the server side (node, echo server, compute limit) and the load generator; default: split the allowed CPUs in two. */
  serverCpus?: number[];
  clientCpus?: number[];
  /** Pin with taskset (default true where there are >= 2 CPUs and taskset exists). */
  pin: boolean;
  /** Override the cases' maxBatchSize / maxQueueDelayUs. */
  maxBatchSize?: number;
  maxQueueDelayUs?: number;
  /** Run the node under `node --cpu-prof` and summarise where its time went. */
  profileServer: boolean;
  /**
   * Measure the cost of tracing (case mlp, streaming, c=64: sampling off vs
   * 0.01 vs 1, three windows of 2 x --window-ms each; about 30 s). Default true; `--no-tracing-cost`.
   * The sweep itself runs its node with tracing off.
   */
  tracingCost: boolean;
  /**
   * Measure the cost of prediction records (case mlp, streaming, c=64: the
   * model's records.sampleRate 0 vs 0.01, the default, vs 1, three nodes on one
   * nats-server, three windows of 2 x --window-ms each; about 30 s). Default
   * true; `--no-records-cost`. The sweep's node runs without NATS, so without records.
   */
  recordsCost: boolean;
  /**
   * Measure the cost of security on the data plane (case mlp, streaming, c=64:
   * plaintext vs TLS vs TLS with token checks, three windows of 2 x --window-ms
   * each; TLS and TLS with tokens on one node, two copies of the model, one
   * called without a token (--auth-anonymous-models), one with). Default true; `--no-security-cost`.
   */
  securityCost: boolean;
  /**
   * Also measure the recommender (iALS training s/epoch on 1M interactions x 6,000
   * users x 4,000 items at d = 64, and Recommend at concurrency 32 over 100,000
   * items; about 2 minutes). Default: on in the full default run, off when
   * --case or --model picks what to run; `--no-recommender` turns it off.
   */
  recommender: boolean;
  /**
   * Also drive unary ModelInfer with h2load (nghttp2-client) against the node
   * and the grpc-js and node:http2 floors (bench/h2load-runner.ts). Default
   * true where h2load is installed; `--no-h2load`.
   */
  h2load: boolean;
  /**
   * h2load's measured window, in ms. Default --window-ms. h2load counts only
   * requests started inside its window, so a window shorter than a few
   * latencies measures nothing.
   */
  h2loadWindowMs: number;
  /** h2load's connections sweep (one request in flight per connection), mlp only. Default 1,2,4,8,16,32,64. */
  connectionSweep: number[];
}

/** The flags as commander hands them over (strings), validated into {@link BenchOptions}; throws one clear message per bad value. */
export function parseBenchOptions(raw: Record<string, unknown>): BenchOptions {
  const list = (flag: string, value: unknown, fallback: string) => String(value ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
  const posInt = (flag: string, value: unknown, fallback: number, min = 1): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: expected an integer >= ${min}, got '${String(value)}'`);
    return n;
  };
  const model = raw.model as string | undefined;
  const repoDir = raw.modelRepository as string | undefined;
  if ((model === undefined) !== (repoDir === undefined)) throw new Error('--model-repository DIR and --model NAME go together');
  const caseNames = list('--case', raw.case, model && raw.case === undefined ? '' : BUILT_IN_CASES.join(','));
  for (const c of caseNames) {
    if (!(BUILT_IN_CASES as readonly string[]).includes(c)) throw new Error(`--case: unknown case '${c}'; built-in cases: ${BUILT_IN_CASES.join(', ')}`);
  }
  const concurrency = list('--concurrency', raw.concurrency, '1,8,32,64,256').map((s) => posInt('--concurrency', s, 1));
  const modes = list('--modes', raw.modes, 'unary,streaming');
  for (const m of modes) if (m !== 'unary' && m !== 'streaming') throw new Error(`--modes: unknown mode '${m}'; expected unary and/or streaming`);
  const measure = list('--measure', raw.measure, 'served,nobatch,transport,compute');
  for (const m of measure) {
    if (!['served', 'nobatch', 'transport', 'compute'].includes(m)) throw new Error(`--measure: unknown '${m}'; expected served, nobatch, transport, compute`);
  }
  const cpus = (flag: string, v: unknown) => {
    if (v === undefined) return undefined;
    try {
      return parseCpuList(String(v));
    } catch (err) {
      throw new Error(`${flag}: ${(err as Error).message}`);
    }
  };
  const inputShape = raw.inputShape === undefined ? undefined : list('--input-shape', raw.inputShape, '').map((s) => posInt('--input-shape', s, 1));
  const serverCpus = cpus('--server-cores', raw.serverCores);
  const clientCpus = cpus('--client-cores', raw.clientCores);
  return {
    cases: caseNames as BuiltInCase[],
    ...(model && repoDir ? { repository: { dir: resolve(repoDir), model, ...(inputShape ? { inputShape } : {}) } } : {}),
    concurrency: [...new Set(concurrency)].sort((a, b) => a - b),
    modes: modes as Mode[],
    measure: new Set(measure as Measure[]),
    warmupMs: posInt('--warmup-ms', raw.warmupMs, 300, 0),
    windowMs: posInt('--window-ms', raw.windowMs, 1500),
    computeWindowMs: posInt('--compute-window-ms', raw.computeWindowMs, 1000),
    requestsPerStream: posInt('--requests-per-stream', raw.requestsPerStream, 16),
    connections: posInt('--connections', raw.connections, 4),
    costRounds: posInt('--cost-rounds', raw.costRounds, 3),
    outDir: resolve(String(raw.outDir ?? 'bench-results')),
    ...(serverCpus ? { serverCpus } : {}),
    ...(clientCpus ? { clientCpus } : {}),
    pin: raw.pin !== false,
    ...(raw.maxBatchSize !== undefined ? { maxBatchSize: posInt('--max-batch-size', raw.maxBatchSize, 0, 0) } : {}),
    ...(raw.maxQueueDelayUs !== undefined ? { maxQueueDelayUs: posInt('--max-queue-delay-us', raw.maxQueueDelayUs, 0, 0) } : {}),
    profileServer: raw.profileServer === true,
    tracingCost: raw.tracingCost !== false,
    recordsCost: raw.recordsCost !== false,
    securityCost: raw.securityCost !== false,
    recommender: raw.recommender !== false && raw.case === undefined && model === undefined,
    h2load: raw.h2load !== false,
    h2loadWindowMs: posInt('--h2load-window-ms', raw.h2loadWindowMs, posInt('--window-ms', raw.windowMs, 1500)),
    connectionSweep: [...new Set(list('--connection-sweep', raw.connectionSweep, '1,2,4,8,16,32,64').map((s) => posInt('--connection-sweep', s, 1)))].sort((a, b) => a - b),
  };
}
