import { readFile } from 'node:fs/promises';
import type { Span } from '@opentelemetry/api';
import type { Tensor } from 'onnxruntime-node';
import { epochClock } from '../../../shared/clock/index.js';
import { Code, InfermeshError, invalidArgument, resourceExhausted, unavailable } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { readOnnxSignature, type ModelSignature } from '../../../shared/onnx/index.js';
import type { BatchStatistics, ExecutionRequest, ExecutionResult, ExecutorProfile, ModelExecutor } from '../execution/executor.js';
import { batchRows, concatInputs, pickOutputs, shapeKey, sliceOutputs } from './batch-assembly.js';
import { endSpan, spanTimeMs, startBatchSpan, startOrtRunSpan, startQueueSpan, type ExecutorInstruments } from './batch-spans.js';
import { DEFAULT_CURVE_PROBE_BUDGET_MS } from './curve-probe.js';
import { resolveInstanceDevices, type InstanceGroupSpec } from './devices.js';
import { formBatch, type BatchCandidate, type BatchPolicy } from './form-batch.js';
import { prepareInstances, probeFromRequest, type Slot } from './prepare-instances.js';
import { RequestQueue, type QueueEntry } from './request-queue.js';
import type { ExecutionThread, ThreadDecision } from './thread-placement.js';
import type { WarmupSampleSpec } from './warmup.js';

/**
 * The scheduling part of a model version's config (the fields of the model
 * config, camelCase). Absent fields take the defaults documented here.
 */
export interface BatchingConfig {
  /** Largest batch, in rows of the first dimension; 0 = never batched (each request runs as sent). */
  readonly maxBatchSize: number;
  /** Batch sizes to dispatch at as soon as they are reached (each 1..maxBatchSize); when given they decide instead of the throughput curve. Default none. */
  readonly preferredBatchSizes?: readonly number[];
  /** How long the oldest request may wait for a batch to fill, in µs. Default 0: dispatch when an instance is free. */
  readonly maxQueueDelayUs?: number;
  /** Requests that may wait; beyond it RESOURCE_EXHAUSTED at once. Default 1024. */
  readonly maxQueueSize?: number;
  /** Queue timeout for requests that carry no deadline, in ms; 0 = none. Default 0. */
  readonly defaultTimeoutMs?: number;
  /** Priority levels (request.priority 0..levels-1, higher first). Default 1. */
  readonly priorityLevels?: number;
  /** Instance groups. Default one instance on the CPU. */
  readonly instances?: readonly InstanceGroupSpec[];
  /** Run `cuda:N` instances on the CPU when CUDA cannot be used. Default false (creation fails UNAVAILABLE). */
  readonly allowCpuFallback?: boolean;
  /** ORT intra-op threads per instance. Default: the cores, less one for the event loop when sessions run on workers, shared by the CPU instances (see defaultIntraOpThreads). */
  readonly intraOpThreads?: number;
  /** ORT inter-op threads per instance. Default 1. */
  readonly interOpThreads?: number;
  /** Warm-up requests, run on every instance before the executor is ready. */
  readonly warmup?: readonly WarmupSampleSpec[];
  /** Where the sessions run: `auto` (default, measured at load), `main` or `worker` (see ExecutionThread). */
  readonly executionThread?: ExecutionThread;
  /** Time each instance may spend measuring its throughput curve at load, in ms; 0 = none (learnt from served batches only). Default 300. */
  readonly curveProbeBudgetMs?: number;
}

/** The clock deadlines and queue delays are read from: ms since the epoch, sub-ms precision welcome. */
export interface Clock {
  nowMs(): number;
}

/** A clock with sub-millisecond precision on the Date.now() scale, which deadlines are given in (shared/clock). */
export const systemClock: Clock = epochClock;

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

interface Entry extends QueueEntry, BatchCandidate {
  readonly request: ExecutionRequest;
  readonly enqueuedNs: bigint;
  readonly resolve: (r: ExecutionResult) => void;
  readonly reject: (e: unknown) => void;
  queueSpan: Span | undefined;
}

/** Cancelled and expired requests are noticed at dispatch, and by a sweep at most this often while requests wait. */
const SWEEP_INTERVAL_MS = 50;
/** Weight of the newest gap in the arrival-gap average. */
const ARRIVAL_SMOOTHING = 0.2;
/** How often the throughput gauges are refreshed from the curves, at most, in ms. */
const CURVE_PUBLISH_INTERVAL_MS = 1000;

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
 * {@link formBatch}'s decision: the curve's best size for the rows waiting
 * (or a configured preferred size), and only for a free instance, so no more
 * batches run at once than there are instances.
 *
 * No timer or listener is kept per request: deadlines and cancellation are
 * checked when a batch is formed, and by one sweep timer while requests wait.
 */
export async function createBatchingExecutor(options: BatchingExecutorOptions): Promise<BatchingExecutor> {
  const { config, logger, instruments } = options;
  const clock = options.clock ?? systemClock;
  const maxBatchSize = intOption('maxBatchSize', config.maxBatchSize, 0);
  const maxQueueDelayMs = intOption('maxQueueDelayUs', config.maxQueueDelayUs ?? 0, 0) / 1000;
  const maxQueueSize = intOption('maxQueueSize', config.maxQueueSize ?? 1024, 1);
  const defaultTimeoutMs = intOption('defaultTimeoutMs', config.defaultTimeoutMs ?? 0, 0);
  const priorityLevels = intOption('priorityLevels', config.priorityLevels ?? 1, 1);
  const probeBudgetMs = intOption('curveProbeBudgetMs', config.curveProbeBudgetMs ?? DEFAULT_CURVE_PROBE_BUDGET_MS, 0);
  const preferred = [...(config.preferredBatchSizes ?? [])].sort((a, b) => b - a);
  for (const p of preferred) {
    if (!Number.isInteger(p) || p < 1 || p > maxBatchSize) {
      throw invalidArgument(`preferredBatchSizes: ${p} is not an integer from 1 to maxBatchSize (${maxBatchSize})`);
    }
  }
  const setting = options.sessionThread ?? config.executionThread ?? 'auto';
  if (!['auto', 'main', 'worker'].includes(setting)) throw invalidArgument(`executionThread: expected 'auto', 'main' or 'worker', got ${JSON.stringify(setting)}`);
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
    setting,
    maxBatchSize,
    warmup: config.warmup ?? [],
    signature,
    probeBudgetMs,
    logger,
  });
  const outputNamesAll = pool.instances[0]!.runner.outputNames;
  const onWorker = decision.thread === 'worker';
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

  const queue = new RequestQueue<Entry>(priorityLevels, options.priorityAgingMs ?? 100);
  const free: Slot[] = [...slots].reverse();
  const batchStats = new Map<number, BatchStatistics>();
  // The policy object is reused: formBatch reads it, the executor updates it.
  const policy: { -readonly [K in keyof BatchPolicy]: BatchPolicy[K] } = {
    maxBatchSize, preferredBatchSizes: preferred, maxQueueDelayMs, closing: false, arrivalGapMs: undefined, backlog: false,
  };
  const stats = { executions: 0, running: 0, peakRunning: 0, probing: 0 };
  let lastArrivalMs: number | undefined;
  let pumpScheduled = false;
  let wakeTimer: NodeJS.Timeout | undefined;
  let wakeAtMs = Infinity;
  let nextSweepMs = 0;
  let curvesPublishedMs = -Infinity;
  let closed: Promise<void> | undefined;
  let drained: (() => void) | undefined;

  const drop = (e: Entry, err: InfermeshError) => {
    queue.remove(e);
    endSpan(e.queueSpan, err);
    e.reject(err);
  };
  const dropReason = (e: Entry) =>
    e.request.signal?.aborted
      ? new InfermeshError(Code.CANCELLED, 'the request was cancelled while it waited in the queue; it did not run')
      : new InfermeshError(Code.DEADLINE_EXCEEDED, `the deadline passed after ${Math.round(clock.nowMs() - e.enqueuedAtMs)} ms in the queue; the request did not run`);

  // Pumping waits for setImmediate so that every request read in the same
  // event-loop turn can join the batch (ORT defers the run to setImmediate anyway).
  const schedulePump = () => {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(pump);
  };

  /** Looks at the queue again at `atMs`: one timer for the whole queue, and setImmediate below a millisecond (timers are coarser). */
  const wakeAt = (atMs: number, now: number) => {
    if (atMs >= wakeAtMs) return;
    if (wakeTimer) clearTimeout(wakeTimer);
    wakeTimer = undefined;
    const inMs = atMs - now;
    if (inMs < 1) {
      wakeAtMs = Infinity;
      schedulePump();
      return;
    }
    wakeAtMs = atMs;
    wakeTimer = setTimeout(onWake, Math.floor(inMs));
    wakeTimer.unref();
  };
  const onWake = () => {
    wakeTimer = undefined;
    wakeAtMs = Infinity;
    pump();
  };

  function sweep(now: number): void {
    nextSweepMs = now + SWEEP_INTERVAL_MS;
    let dead: Entry[] | undefined;
    for (const e of queue.ordered(now)) if (e.deadlineMs <= now || e.request.signal?.aborted) (dead ??= []).push(e);
    if (dead) for (const e of dead) drop(e, dropReason(e));
  }

  function pump(): void {
    pumpScheduled = false;
    const now = clock.nowMs();
    if (now >= nextSweepMs && queue.size > 0) sweep(now);
    let waitUntilMs = Infinity;
    while (free.length > 0 && queue.size > 0) {
      const slot = free[free.length - 1]!;
      if (slot.probePending && !policy.closing) {
        const head = firstLive(now);
        if (head) {
          free.pop();
          void measureOnRequest(slot, head.request.inputs);
          continue;
        }
      }
      const d = formBatch(queue.ordered(now), policy, slot.curve ?? NO_CURVE, now);
      if (d.dropped) for (const e of d.dropped) drop(e, dropReason(e));
      if (d.kind === 'idle') break;
      if (d.kind === 'wait') {
        waitUntilMs = d.untilMs;
        break;
      }
      free.pop();
      void runBatch(slot, d.entries, d.rows);
      // runBatch took its entries out of the queue before its first await.
      policy.backlog = queue.size > 0;
    }
    instruments?.setQueueDepth(queue.size);
    if (queue.size > 0) wakeAt(Math.min(waitUntilMs, nextSweepMs), now);
    maybeDrained();
  }

  async function runBatch(slot: Slot, entries: Entry[], rows: number): Promise<void> {
    const startNs = process.hrtime.bigint();
    slot.busy = true;
    stats.running++;
    stats.peakRunning = Math.max(stats.peakRunning, stats.running);
    // The queue spans end exactly where the batch span starts.
    const dispatchedMs = instruments?.tracer ? spanTimeMs() : 0;
    for (const e of entries) {
      queue.remove(e);
      endSpan(e.queueSpan, undefined, dispatchedMs);
    }
    const placement = { size: entries.length, device: slot.instance.device, instance: slot.instance.index };
    const batchSpan = instruments?.tracer ? startBatchSpan(instruments, entries.map((e) => e.request.traceContext), placement, dispatchedMs) : undefined;
    try {
      const lone = entries.length === 1;
      const feeds = lone ? entries[0]!.request.inputs : concatInputs(entries.map((e) => e.request.inputs), rows);
      const fetches = fetchNames(entries);
      const assembledNs = process.hrtime.bigint();
      let outputs: Record<string, Tensor>;
      let runNs: bigint;
      const ortSpan = startOrtRunSpan(instruments, batchSpan, placement);
      try {
        ({ outputs, runNs } = await slot.instance.runner.run(feeds as Record<string, Tensor>, fetches, !lone));
      } catch (err) {
        const error = runError(err);
        endSpan(ortSpan, error);
        throw error;
      }
      endSpan(ortSpan);
      const inferNs = process.hrtime.bigint();
      // Time between assembly and the run's end that was not the run itself
      // (the hand-off to the session's thread) counts as waiting.
      const waitNs = inferNs - assembledNs - runNs;
      const runStartNs = inferNs - runNs;
      const sliced = lone
        ? [pickOutputs(outputs, entries[0]!.request.outputNames.length ? entries[0]!.request.outputNames : outputNamesAll)]
        : sliceOutputs(outputs, entries.map((e) => e.rows), entries.map((e) => (e.request.outputNames.length ? e.request.outputNames : outputNamesAll)));
      const outputNs = process.hrtime.bigint();
      stats.executions++;
      slot.executions++;
      // The node's own work on the batch: assembly, slicing, and on a worker the
      // hand-off (on the event-loop thread that wait is other requests' work).
      slot.curve?.record(rows, Number(runNs), Number(assembledNs - startNs + (outputNs - inferNs) + (onWorker ? waitNs : 0n)));
      const size = maxBatchSize === 0 ? 1 : rows;
      const s = batchStats.get(size) ?? { batchSize: size, count: 0, computeInputNs: 0n, computeInferNs: 0n, computeOutputNs: 0n };
      s.count++;
      s.computeInputNs += assembledNs - startNs;
      s.computeInferNs += inferNs - runStartNs;
      s.computeOutputNs += outputNs - inferNs;
      batchStats.set(size, s);
      instruments?.recordBatch(entries.length);
      endSpan(batchSpan);
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        e.resolve({
          outputs: sliced[i]!,
          batchSize: entries.length,
          timings: {
            queueNs: startNs - e.enqueuedNs + waitNs,
            computeInputNs: assembledNs - startNs,
            computeInferNs: inferNs - runStartNs,
            computeOutputNs: outputNs - inferNs,
          },
        });
      }
    } catch (err) {
      const error = InfermeshError.from(err, Code.INTERNAL);
      logger.warn('batch failed', { batchSize: entries.length, code: Code[error.code], error: error.message });
      endSpan(batchSpan, error);
      for (const e of entries) e.reject(error);
    } finally {
      slot.busy = false;
      stats.running--;
      free.push(slot);
      if (queue.size > 0) schedulePump();
      else maybeDrained();
      publishCurves(false);
    }
  }

  function firstLive(now: number): Entry | undefined {
    for (const e of queue.ordered(now)) if (e.deadlineMs > now && !e.request.signal?.aborted) return e;
    return undefined;
  }

  /** The first request shows the shapes the load-time probe lacked: the slot measures its curve on them, then serves. */
  async function measureOnRequest(slot: Slot, inputs: Readonly<Record<string, Tensor>>): Promise<void> {
    slot.busy = true;
    stats.probing++;
    await probeFromRequest(slot, inputs, maxBatchSize, probeBudgetMs, logger);
    slot.busy = false;
    stats.probing--;
    free.push(slot);
    publishCurves(true);
    schedulePump();
  }

  function fetchNames(entries: readonly Entry[]): readonly string[] {
    const first = entries[0]!.request.outputNames;
    if (first.length === 0) return outputNamesAll;
    let names: Set<string> | undefined;
    for (const e of entries) {
      if (e.request.outputNames === first) continue;
      if (e.request.outputNames.length === 0) return outputNamesAll;
      names ??= new Set(first);
      for (const n of e.request.outputNames) names.add(n);
    }
    return names ? [...names] : first;
  }

  function maybeDrained(): void {
    if (policy.closing && drained && queue.size === 0 && stats.running === 0 && stats.probing === 0) drained();
  }

  const profile = (): ExecutorProfile => ({
    executionThread: { thread: decision.thread, setting: decision.setting, reason: decision.reason },
    curves: slots.flatMap((s) =>
      s.curve ? [{ instance: s.instance.index, device: s.instance.device, batchOverheadUs: Math.round(s.curve.batchOverheadNs / 1000), points: s.curve.points() }] : [],
    ),
  });

  /** Refreshes the throughput gauges (the mean over instances per size), at most once per interval unless forced. */
  function publishCurves(force: boolean): void {
    if (!instruments?.setBatchRowsPerSecond || maxBatchSize === 0) return;
    const now = clock.nowMs();
    if (!force && now - curvesPublishedMs < CURVE_PUBLISH_INTERVAL_MS) return;
    curvesPublishedMs = now;
    const sums = new Map<number, { total: number; n: number }>();
    for (const s of slots) {
      for (const p of s.curve?.points() ?? []) {
        const acc = sums.get(p.batchSize) ?? { total: 0, n: 0 };
        acc.total += p.rowsPerSecond;
        acc.n++;
        sums.set(p.batchSize, acc);
      }
    }
    for (const [size, { total, n }] of sums) instruments.setBatchRowsPerSecond(size, total / n);
  }
  publishCurves(true);

  const execute = (request: ExecutionRequest): Promise<ExecutionResult> =>
    new Promise<ExecutionResult>((resolve, reject) => {
      if (policy.closing) throw unavailable('the model is unloading; it takes no new requests');
      const priority = request.priority ?? 0;
      if (!Number.isInteger(priority) || priority < 0 || priority >= priorityLevels) {
        throw invalidArgument(`priority: expected an integer from 0 to ${priorityLevels - 1} (the model has ${priorityLevels} priority level(s)), got ${priority}`);
      }
      let rows = 1;
      let key = '';
      if (maxBatchSize > 0) {
        rows = batchRows(request.inputs);
        if (rows > maxBatchSize) {
          throw invalidArgument(`batch dimension ${rows} exceeds the model's maxBatchSize ${maxBatchSize}`);
        }
        key = shapeKey(request.inputs);
      }
      const now = clock.nowMs();
      const deadlineMs = Number.isFinite(request.deadlineMs) ? request.deadlineMs : defaultTimeoutMs > 0 ? now + defaultTimeoutMs : Infinity;
      if (request.signal?.aborted) throw new InfermeshError(Code.CANCELLED, 'the request was cancelled before it was queued');
      if (deadlineMs <= now) throw new InfermeshError(Code.DEADLINE_EXCEEDED, 'the deadline passed before the request was queued');
      if (queue.size >= maxQueueSize) {
        throw resourceExhausted(`the model's queue is full (${maxQueueSize} requests waiting); retry later`);
      }
      if (lastArrivalMs !== undefined) {
        const gap = now - lastArrivalMs;
        policy.arrivalGapMs = policy.arrivalGapMs === undefined ? gap : policy.arrivalGapMs + ARRIVAL_SMOOTHING * (gap - policy.arrivalGapMs);
      }
      lastArrivalMs = now;
      const entry: Entry = {
        request, rows, key, deadlineMs, signal: request.signal, level: priority, enqueuedAtMs: now, enqueuedNs: process.hrtime.bigint(), resolve, reject, queued: false,
        queueSpan: startQueueSpan(instruments, request.traceContext, priority),
      };
      if (queue.size === 0) {
        nextSweepMs = now + SWEEP_INTERVAL_MS;
        policy.backlog = false;
      }
      queue.push(entry);
      if (free.length > 0) schedulePump();
      else wakeAt(nextSweepMs, now);
    });

  return {
    devices: slots.map((s) => s.instance.device),
    notes: pool.notes,
    threadDecision: decision,
    execute,
    queueDepth: () => queue.size,
    executionCount: () => stats.executions,
    batchStatistics: () => [...batchStats.values()].map((s) => ({ ...s })).sort((a, b) => a.batchSize - b.batchSize),
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
    peakConcurrentRuns: () => stats.peakRunning,
    close: () =>
      (closed ??= (async () => {
        policy.closing = true;
        await new Promise<void>((resolve) => {
          drained = resolve;
          schedulePump();
        });
        if (wakeTimer) clearTimeout(wakeTimer);
        publishCurves(true);
        await pool.close();
      })()),
  };
}

/** The curve of a model that does not batch: nothing measured. */
const NO_CURVE = { measured: false, bestSize: (limit: number) => limit, batchMs: () => 0 } as const;

function intOption(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw invalidArgument(`${name}: expected an integer >= ${min}, got ${String(value)}`);
  return value;
}

/** ORT's complaints about the feeds are the caller's mistake; anything else is the runtime's. */
function runError(err: unknown): InfermeshError {
  const message = err instanceof Error ? err.message : String(err);
  if (/invalid dimensions|Unexpected input data type|invalid rank|input name|not a valid input/i.test(message)) {
    return invalidArgument(`the model rejected the inputs: ${message}`, err);
  }
  return new InfermeshError(Code.INTERNAL, `the model run failed: ${message}`, { cause: err });
}
