import { readFile } from 'node:fs/promises';
import { invalidArgument } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { readOnnxSignature, type ModelSignature } from '../../../shared/onnx/index.js';
import type { ExecutorProfile, ModelExecutor } from '../execution/executor.js';
import type { ExecutorInstruments } from './batch-spans.js';
import { CurvePublisher } from './curve-gauges.js';
import { resolveInstanceDevices } from './devices.js';
import { systemClock, type Clock } from './executor-clock.js';
import { resolveBatchingSettings, type BatchingConfig } from './executor-settings.js';
import { prepareInstances } from './prepare-instances.js';
import { RunLoop } from './run-loop.js';
import type { ExecutionThread, ThreadDecision } from './thread-placement.js';

export type { BatchingConfig } from './executor-settings.js';
export { systemClock, type Clock } from './executor-clock.js';

export interface BatchingExecutorOptions {
  /** The ONNX file, or its bytes (one of the two). */
  readonly modelPath?: string;
  readonly modelBytes?: Uint8Array;
  readonly config: BatchingConfig;
  /** The model's signature (shapes the probe's synthetic inputs). Default: read from the model. */
  readonly signature?: ModelSignature;
  readonly logger: Logger;
  /** Default {@link systemClock}. */
  readonly clock?: Clock;
  /** How fast a waiting request climbs one priority level, in ms. Default 100 (see RequestQueue for the bound). */
  readonly priorityAgingMs?: number;
  /** Cores the CPU instances share (thread defaults). Default os.availableParallelism(). */
  readonly cpuCount?: number;
  /** Overrides `config.executionThread` (tests). */
  readonly sessionThread?: ExecutionThread;
  /**
   * The version's tracer, span attributes and metrics: `queue`, `batch` and
   * `ort.run` spans for sampled requests (see batch-spans.ts), the batch size
   * histogram, the queue depth gauge and the throughput curve gauge. Default: none.
   */
  readonly instruments?: ExecutorInstruments;
}

/** Per-instance counters. */
export interface InstanceStatistics {
  readonly device: string;
  /** The thread its session runs on. */
  readonly sessionThread: 'worker' | 'main';
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
  /** Whether ORT's intra-op threads spin-wait between runs. */
  readonly spinning: boolean;
  /** Warm-up runs done on this instance (all of them before the executor was ready). */
  readonly warmupRuns: number;
  /** Session runs its load-time throughput measurement made. */
  readonly probeRuns: number;
  /** Batches this instance has run. */
  readonly executionCount: number;
  readonly busy: boolean;
}

/** A {@link ModelExecutor} with dynamic batching over a pool of device-pinned sessions. */
export interface BatchingExecutor extends ModelExecutor {
  instanceStatistics(): InstanceStatistics[];
  /** The most batches that were ever running at once (never more than the instances). */
  peakConcurrentRuns(): number;
  /** Where the sessions run, and why. */
  readonly threadDecision: ThreadDecision;
  profile(): ExecutorProfile;
}

/**
 * Creates the executor of one model version: a bounded priority queue in front
 * of `instances` ORT sessions, forming batches dynamically. Resolves once every
 * instance is created, has run every warm-up sample and has measured its
 * throughput curve (see prepare-instances.ts).
 *
 * Batching (maxBatchSize > 0): queued requests whose inputs agree on all
 * non-batch dimensions are concatenated along dimension 0 (one allocation per
 * input; a lone request runs as sent), run once, and each caller receives
 * views of its own rows of every output. What goes into a batch is
 * formBatch's decision (form-batch.ts): the curve's best size for the rows waiting
 * (or a configured preferred size), and only for a free instance, so no more
 * batches run at once than there are instances.
 *
 * The parts: settings resolved once (executor-settings.ts), admission
 * (admission.ts), the pump and batch runs (run-loop.ts), what each free
 * instance does next (dispatch.ts), outputs per request (batch-outputs.ts),
 * statistics (batch-statistics.ts), the throughput gauges (curve-gauges.ts).
 */
export async function createBatchingExecutor(options: BatchingExecutorOptions): Promise<BatchingExecutor> {
  const { config, logger, instruments } = options;
  const clock = options.clock ?? systemClock;
  const settings = resolveBatchingSettings(config, options.sessionThread);
  const { maxBatchSize, maxQueueDelayMs, probeBudgetMs } = settings;
  const devices = resolveInstanceDevices(config.instances);
  const modelBytes = options.modelBytes ?? (options.modelPath ? await readFile(options.modelPath) : undefined);
  if (!modelBytes) throw invalidArgument('createBatchingExecutor: give modelPath or modelBytes');
  let signature = options.signature;
  if (!signature) {
    try {
      signature = readOnnxSignature(modelBytes);
    } catch {
      // ORT will say what is wrong with the model when the session is created.
    }
  }

  const { pool, slots, decision, probeNote } = await prepareInstances({
    modelBytes,
    devices,
    allowCpuFallback: config.allowCpuFallback ?? false,
    intraOpThreads: config.intraOpThreads,
    interOpThreads: config.interOpThreads,
    cpuCount: options.cpuCount,
    setting: settings.executionThread,
    maxBatchSize,
    warmup: config.warmup ?? [],
    signature,
    probeBudgetMs,
    logger,
  });
  const peaks = slots.map((s) => (s.curve?.measured ? s.curve.bestSize(maxBatchSize) : undefined));
  logger.info('executor ready', {
    instances: slots.map((s) => s.instance.device),
    intraOpThreads: slots.map((s) => s.instance.intraOpThreads),
    spinning: slots[0]!.instance.spinning,
    sessionThread: decision.thread,
    threadReason: decision.reason,
    maxBatchSize,
    maxQueueDelayUs: maxQueueDelayMs * 1000,
    warmupSamples: config.warmup?.length ?? 0,
    ...(maxBatchSize > 0 ? { curvePeakBatchSize: peaks, ...(probeNote ? { curveNotMeasured: probeNote } : {}) } : {}),
  });

  const curves = new CurvePublisher(
    () => slots.map((s) => s.curve),
    maxBatchSize > 0 ? instruments?.setBatchRowsPerSecond?.bind(instruments) : undefined,
    clock,
  );
  const loop = new RunLoop({
    ...settings,
    priorityAgingMs: options.priorityAgingMs ?? 100,
    slots,
    outputNames: pool.instances[0]!.runner.outputNames,
    onWorker: decision.thread === 'worker',
    clock,
    logger,
    instruments,
    curves,
  });
  curves.publish(true);

  let closed: Promise<void> | undefined;
  const profile = (): ExecutorProfile => ({
    executionThread: { thread: decision.thread, setting: decision.setting, reason: decision.reason },
    curves: slots.flatMap((s) =>
      s.curve ? [{ instance: s.instance.index, device: s.instance.device, batchOverheadUs: Math.round(s.curve.batchOverheadNs / 1000), points: s.curve.points() }] : [],
    ),
  });

  return {
    devices: slots.map((s) => s.instance.device),
    notes: pool.notes,
    threadDecision: decision,
    execute: (request) => loop.execute(request),
    queueDepth: () => loop.queueDepth,
    executionCount: () => loop.executionCount,
    batchStatistics: () => loop.batchStatistics(),
    profile,
    instanceStatistics: () =>
      slots.map((s) => ({
        device: s.instance.device,
        sessionThread: decision.thread,
        intraOpThreads: s.instance.intraOpThreads,
        interOpThreads: s.instance.interOpThreads,
        spinning: s.instance.spinning,
        warmupRuns: s.warmupRuns,
        probeRuns: s.probeRuns,
        executionCount: s.executions,
        busy: s.busy,
      })),
    peakConcurrentRuns: () => loop.peakConcurrentRuns,
    close: () =>
      (closed ??= (async () => {
        await loop.drain();
        loop.stop();
        curves.publish(true);
        await pool.close();
      })()),
  };
}
