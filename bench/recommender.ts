import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../shared/logging/index.js';
import { NatsServerProcess } from '../shared/nats/index.js';
import { startInferenceNode } from '../services/inference/inference-node.js';
import { createRegistryService } from '../services/registry/index.js';
import { createRecommenderClient } from '../services/recommender/client/index.js';
import { datasetShape, ratingsToInteractions } from '../services/recommender/evaluation/index.js';
import { createParallelIalsTrainer, createRandom, type EpochReport } from '../services/recommender/learning/index.js';
import { createRecommenderService } from '../services/recommender/service/index.js';
import { generateSynthetic } from '../services/recommender/synth/index.js';

/** What {@link runRecommenderBench} measures; every field has a default. */
export interface RecommenderBenchOptions {
  /** Training figure: users, items, interactions, dimension and epochs timed. Defaults 6000, 4000, 1,000,000, 64, 2. */
  trainUsers?: number;
  trainItems?: number;
  trainInteractions?: number;
  trainDim?: number;
  trainEpochs?: number;
  /** Threads of the training figure. Default: the machine's available parallelism. */
  trainThreads?: number;
  /** Serving figure: catalogue size (default 100,000), users and interactions behind the model (2000, 40,000), dimension (64). */
  catalogueItems?: number;
  serveUsers?: number;
  serveInteractions?: number;
  serveDim?: number;
  /** Requests in flight at once (default 32) for `durationMs` (default 10000) after `warmupRequests` (default 200). */
  concurrency?: number;
  durationMs?: number;
  warmupRequests?: number;
  /** Skip either half. */
  skipTraining?: boolean;
  skipServing?: boolean;
  logger?: Logger;
}

/** Figures of one bench run. */
export interface RecommenderBenchReport {
  training?: {
    users: number;
    items: number;
    interactions: number;
    dim: number;
    /** Threads the half-steps were split over. */
    threads: number;
    epochs: EpochReport[];
    /** Mean over the timed epochs. */
    secondsPerEpoch: number;
    /** Estimated floating-point operations per epoch (see epochFlops) and the rate achieved. */
    flopsPerEpoch: number;
    gflops: number;
  };
  serving?: {
    catalogueItems: number;
    dim: number;
    concurrency: number;
    requests: number;
    errors: number;
    throughputPerS: number;
    p50Ms: number;
    p90Ms: number;
    p99Ms: number;
    /** Time to train and register the serving model (setup, not part of the figure). */
    setupSeconds: number;
  };
}

/**
 * The recommender's benchmark: (1) iALS training time per epoch on synthetic
 * data shaped like MovieLens (one million interactions, 6,000 users, 4,000
 * items, d = 64) beside the floating-point work it does; (2) Recommend
 * latency percentiles and throughput at a fixed concurrency against a
 * catalogue of 100,000 items, through a real NATS, registry, inference node
 * (mesh mode) and recommender, all in this process except nats-server.
 */
export async function runRecommenderBench(options: RecommenderBenchOptions = {}): Promise<RecommenderBenchReport> {
  const logger = options.logger ?? silentLogger;
  const report: RecommenderBenchReport = {};
  if (!options.skipTraining) {
    const users = options.trainUsers ?? 6000;
    const items = options.trainItems ?? 4000;
    const interactions = options.trainInteractions ?? 1_000_000;
    const dim = options.trainDim ?? 64;
    const data = generateSynthetic({ users, items, dim: 32, interactions, seed: 2 });
    const threads = options.trainThreads ?? availableParallelism();
    const trainer = createParallelIalsTrainer(ratingsToInteractions(data.train, datasetShape([data.train])), { dim }, { threads });
    const epochs: EpochReport[] = [];
    try {
      for (let e = 0; e < (options.trainEpochs ?? 2); e++) {
        const r = await trainer.epoch();
        epochs.push(r);
        logger.info('bench: training epoch', { epoch: r.epoch, threads: trainer.threads, seconds: r.seconds, gflops: r.flops / r.seconds / 1e9 });
      }
    } finally {
      await trainer.close();
    }
    const seconds = epochs.reduce((s, r) => s + r.seconds, 0) / epochs.length;
    report.training = { users, items, interactions: data.train.user.length, dim, threads: trainer.threads, epochs, secondsPerEpoch: seconds, flopsPerEpoch: epochs[0]!.flops, gflops: epochs[0]!.flops / seconds / 1e9 };
  }
  if (!options.skipServing) report.serving = await benchServing(options, logger);
  return report;
}

async function benchServing(options: RecommenderBenchOptions, logger: Logger): Promise<NonNullable<RecommenderBenchReport['serving']>> {
  const items = options.catalogueItems ?? 100_000;
  const users = options.serveUsers ?? 2000;
  const interactions = options.serveInteractions ?? 40_000;
  const dim = options.serveDim ?? 64;
  const concurrency = options.concurrency ?? 32;
  const root = mkdtempSync(join(tmpdir(), 'infermesh-rec-bench-'));
  const nats = new NatsServerProcess({ dataDir: join(root, 'nats') });
  const closers: (() => Promise<unknown>)[] = [];
  try {
    await nats.start();
    closers.push(() => nats.stop());
    const registry = await createRegistryService({ dataDir: join(root, 'registry'), natsUrl: nats.url });
    closers.push(() => registry.close());
    const node = await startInferenceNode({ logger: silentLogger, mesh: { natsUrl: nats.url, registryAddress: registry.address, dataDir: join(root, 'node'), nodeId: 'bench-node', heartbeatIntervalMs: 1000 } });
    closers.push(() => node.close({ drainTimeoutMs: 2000 }));
    const service = await createRecommenderService({
      dataDir: join(root, 'recommender'), natsUrl: nats.url, registryAddress: registry.address, inferenceAddress: node.grpcAddress,
      params: { dim, epochs: 1 }, logger: silentLogger,
    });
    closers.push(() => service.close({ drainTimeoutMs: 2000 }));
    const client = createRecommenderClient(service.address);
    closers.push(async () => client.close());

    const setupStart = performance.now();
    await client.upsertItems(Array.from({ length: items }, (_, i) => ({ itemId: `i${i}`, labels: {} })));
    const rng = createRandom(3);
    // Zipf-like popularity over the catalogue: item = floor(items · u²).
    const list = Array.from({ length: interactions }, (_, n) => ({ userId: `u${n % users}`, itemId: `i${Math.floor(items * rng.next() ** 2)}` }));
    for (let start = 0; start < list.length; start += 20_000) await client.recordInteractions(list.slice(start, start + 20_000));
    const trained = await client.train({});
    logger.info('bench: serving model ready', { version: trained.version, seconds: trained.seconds });
    const ask = (n: number) => client.recommend({ userId: `u${n % users}`, k: 10, excludeSeen: true }, { timeoutMs: 30_000 });
    // Warm-up: the node loads the version on demand on the first calls.
    for (let n = 0; n < (options.warmupRequests ?? 200); n++) await ask(n);
    const setupSeconds = (performance.now() - setupStart) / 1000;

    const latencies: number[] = [];
    let errors = 0;
    let next = 0;
    const durationMs = options.durationMs ?? 10_000;
    const start = performance.now();
    const end = start + durationMs;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          try {
            await ask(next++);
            latencies.push(performance.now() - t);
          } catch {
            errors++;
          }
        }
      }),
    );
    const elapsed = performance.now() - start;
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
    return {
      catalogueItems: items, dim, concurrency, requests: latencies.length, errors,
      throughputPerS: latencies.length / (elapsed / 1000), p50Ms: q(0.5), p90Ms: q(0.9), p99Ms: q(0.99), setupSeconds,
    };
  } finally {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}
