import { epochClock } from '../../../shared/clock/index.js';
import { setMaxListeners } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Span } from '@opentelemetry/api';
import type { Tensor } from 'onnxruntime-node';
import { Code, InfermeshError, invalidArgument, resourceExhausted, unavailable } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { BatchStatistics, ExecutionRequest, ExecutionResult, ModelExecutor } from '../execution/executor.js';
import { batchRows, concatInputs, pickOutputs, shapeKey, sliceOutputs } from './batch-assembly.js';
import { endSpan, spanTimeMs, startBatchSpan, startOrtRunSpan, startQueueSpan, type ExecutorInstruments } from './batch-spans.js';
import { resolveInstanceDevices, type InstanceGroupSpec } from './devices.js';
import { createInstancePool, type Instance } from './instance-pool.js';
import type { SessionThread } from './session-runner.js';
import { RequestQueue, type QueueEntry } from './request-queue.js';
import { warmupTensors, type WarmupSampleSpec } from './warmup.js';

/**
 * The scheduling part of a model version's config (the fields of the model
 * config, camelCase). Absent fields take the defaults documented here.
 */
export interface BatchingConfig {
  /** Largest batch, in rows of the first dimension; 0 = never batched (each request runs as sent). */
  readonly maxBatchSize: number;
  /** Batch sizes to dispatch at as soon as they are reached (each 1..maxBatchSize). Default none. */
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
  /** ORT intra-op threads per instance. Default max(1, floor(cores / CPU instances)). */
  readonly intraOpThreads?: number;
  /** ORT inter-op threads per instance. Default 1. */
  readonly interOpThreads?: number;
  /** Warm-up requests, run on every instance before the executor is ready. */
  readonly warmup?: readonly WarmupSampleSpec[];
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
  readonly logger: Logger;
  /** Default {@link systemClock}. */
  readonly clock?: Clock;
  /** How fast a waiting request climbs one priority level, in ms. Default 100 (see RequestQueue for the bound). */
  readonly priorityAgingMs?: number;
  /** Cores the CPU instances share (thread defaults). Default os.availableParallelism(). */
  readonly cpuCount?: number;
  /**
   * Where each instance's session runs. 'worker': a worker thread per instance,
   * so the event loop keeps reading and answering requests while a batch runs
   * (onnxruntime-node's run blocks its thread) and instances run in parallel.
   * 'main': on the event-loop thread (no hand-off). Default 'auto': 'main' for
   * models under 256 KiB, whose runs cost less than a hand-off, else 'worker'.
   */
  readonly sessionThread?: SessionThread;
  /**
   * The version's tracer, span attributes and metrics: `queue`, `batch` and
   * `ort.run` spans for sampled requests (see batch-spans.ts), the batch size
   * histogram and the queue depth gauge. Default: none.
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
  /** Warm-up runs done on this instance (all of them before the executor was ready). */
  readonly warmupRuns: number;
  /** Batches this instance has run. */
  readonly executionCount: number;
  readonly busy: boolean;
}

/** A {@link ModelExecutor} with dynamic batching over a pool of device-pinned sessions. */
export interface BatchingExecutor extends ModelExecutor {
  instanceStatistics(): InstanceStatistics[];
  /** The most batches that were ever running at once (never more than the instances). */
  peakConcurrentRuns(): number;
}

interface Entry extends QueueEntry {
  readonly request: ExecutionRequest;
  readonly rows: number;
  readonly key: string;
  readonly deadlineMs: number;
  readonly enqueuedNs: bigint;
  readonly resolve: (r: ExecutionResult) => void;
  readonly reject: (e: unknown) => void;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
  queueSpan?: Span;
}

interface Slot {
  readonly instance: Instance;
  warmupRuns: number;
  executions: number;
  busy: boolean;
}

type Decision = { kind: 'run'; entries: Entry[]; rows: number } | { kind: 'wait'; delayMs: number } | { kind: 'idle' };

/**
 * Creates the executor of one model version: a bounded priority queue in front
 * of `instances` ORT sessions, forming batches dynamically. Resolves once every
 * instance is created and has run every warm-up sample.
 *
 * Batching (maxBatchSize > 0): queued requests whose inputs agree on all
 * non-batch dimensions are concatenated along dimension 0 (one allocation per
 * input; a lone request runs as sent), run once, and each caller receives
 * views of its own rows of every output. A batch goes when it holds
 * maxBatchSize rows, when it reaches a preferred size, or when its oldest
 * request has waited maxQueueDelayUs, and only to a free instance, so no more
 * batches run at once than there are instances.
 *
 * onnxruntime-node runs a session synchronously on the calling thread; ORT's
 * intra-op threads do the parallel work, so instances share this process's
 * event loop and their threads are sized not to oversubscribe the cores.
 */
export async function createBatchingExecutor(options: BatchingExecutorOptions): Promise<BatchingExecutor> {
  const { config, logger, instruments } = options;
  const clock = options.clock ?? systemClock;
  const maxBatchSize = intOption('maxBatchSize', config.maxBatchSize, 0);
  const maxQueueDelayMs = intOption('maxQueueDelayUs', config.maxQueueDelayUs ?? 0, 0) / 1000;
  const maxQueueSize = intOption('maxQueueSize', config.maxQueueSize ?? 1024, 1);
  const defaultTimeoutMs = intOption('defaultTimeoutMs', config.defaultTimeoutMs ?? 0, 0);
  const priorityLevels = intOption('priorityLevels', config.priorityLevels ?? 1, 1);
  const preferred = [...(config.preferredBatchSizes ?? [])].sort((a, b) => b - a);
  for (const p of preferred) {
    if (!Number.isInteger(p) || p < 1 || p > maxBatchSize) {
      throw invalidArgument(`preferredBatchSizes: ${p} is not an integer from 1 to maxBatchSize (${maxBatchSize})`);
    }
  }
  const devices = resolveInstanceDevices(config.instances);
  const modelBytes = options.modelBytes ?? (options.modelPath ? await readFile(options.modelPath) : undefined);
  if (!modelBytes) throw invalidArgument('createBatchingExecutor: give modelPath or modelBytes');

  const pool = await createInstancePool({
    modelBytes,
    devices,
    allowCpuFallback: config.allowCpuFallback ?? false,
    ...(config.intraOpThreads ? { intraOpThreads: config.intraOpThreads } : {}),
    ...(config.interOpThreads ? { interOpThreads: config.interOpThreads } : {}),
    ...(options.cpuCount ? { cpuCount: options.cpuCount } : {}),
    ...(options.sessionThread ? { sessionThread: options.sessionThread } : {}),
    logger,
  });
  const slots: Slot[] = pool.instances.map((instance) => ({ instance, warmupRuns: 0, executions: 0, busy: false }));
  try {
    const samples = (config.warmup ?? []).map((s, i) => warmupTensors(s, i));
    for (const slot of slots) {
      for (let i = 0; i < samples.length; i++) {
        try {
          await slot.instance.runner.run(samples[i]!, slot.instance.runner.outputNames, false);
        } catch (err) {
          throw invalidArgument(`warmup[${i}] failed on instance ${slot.instance.index} (${slot.instance.device}): ${(err as Error).message}`, err);
        }
        slot.warmupRuns++;
      }
    }
  } catch (err) {
    await pool.close();
    throw err;
  }
  const outputNamesAll = pool.instances[0]!.runner.outputNames;
  logger.info('executor ready', {
    instances: slots.map((s) => s.instance.device),
    intraOpThreads: slots.map((s) => s.instance.intraOpThreads),
    sessionThread: pool.sessionThread,
    maxBatchSize,
    maxQueueDelayUs: maxQueueDelayMs * 1000,
    warmupSamples: config.warmup?.length ?? 0,
  });

  const queue = new RequestQueue<Entry>(priorityLevels, options.priorityAgingMs ?? 100);
  const free: Slot[] = [...slots].reverse();
  const batchStats = new Map<number, BatchStatistics>();
  let executions = 0;
  let running = 0;
  let peakRunning = 0;
  let closing = false;
  let pumpScheduled = false;
  let pumpTimer: NodeJS.Timeout | undefined;
  let closed: Promise<void> | undefined;
  let drained: (() => void) | undefined;

  const drop = (e: Entry, err: InfermeshError) => {
    if (!e.queued) return;
    queue.remove(e);
    detach(e);
    endSpan(e.queueSpan, err);
    instruments?.setQueueDepth(queue.size);
    e.reject(err);
  };
  const detach = (e: Entry) => {
    if (e.timer) clearTimeout(e.timer);
    if (e.onAbort) e.request.signal?.removeEventListener('abort', e.onAbort);
  };

  // Pumping waits for setImmediate so that every request read in the same
  // event-loop turn can join the batch (ORT defers the run to setImmediate anyway).
  const schedulePump = () => {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(pump);
  };

  function pump(): void {
    pumpScheduled = false;
    if (pumpTimer) {
      clearTimeout(pumpTimer);
      pumpTimer = undefined;
    }
    while (free.length > 0 && queue.size > 0) {
      const d = formBatch(clock.nowMs());
      if (d.kind === 'idle') break;
      if (d.kind === 'wait') {
        pumpTimer = setTimeout(pump, Math.max(0, d.delayMs));
        pumpTimer.unref();
        break;
      }
      void runBatch(free.pop()!, d.entries, d.rows);
    }
    maybeDrained();
  }

  function formBatch(now: number): Decision {
    let head: Entry | undefined;
    const picked: Entry[] = [];
    let rows = 0;
    for (const e of queue.ordered(now)) {
      if (e.deadlineMs <= now) {
        drop(e, expired(e));
        continue;
      }
      if (!head) {
        head = e;
        picked.push(e);
        rows = e.rows;
        if (maxBatchSize === 0) break;
        continue;
      }
      if (e.key !== head.key || rows + e.rows > maxBatchSize) continue;
      picked.push(e);
      rows += e.rows;
      if (rows >= maxBatchSize) break;
    }
    if (!head) return { kind: 'idle' };
    if (maxBatchSize === 0 || rows >= maxBatchSize || closing) return { kind: 'run', entries: picked, rows };
    const target = preferred.find((p) => p <= rows);
    if (target !== undefined) {
      const take: Entry[] = [];
      let n = 0;
      for (const e of picked) {
        if (n + e.rows > target) continue;
        take.push(e);
        n += e.rows;
      }
      return { kind: 'run', entries: take, rows: n };
    }
    let oldest = head.enqueuedAtMs;
    for (const e of picked) oldest = Math.min(oldest, e.enqueuedAtMs);
    const waitLeftMs = oldest + maxQueueDelayMs - now;
    if (waitLeftMs <= 0) return { kind: 'run', entries: picked, rows };
    return { kind: 'wait', delayMs: waitLeftMs };
  }

  async function runBatch(slot: Slot, entries: Entry[], rows: number): Promise<void> {
    const startNs = process.hrtime.bigint();
    slot.busy = true;
    running++;
    peakRunning = Math.max(peakRunning, running);
    // The queue spans end exactly where the batch span starts.
    const dispatchedMs = instruments?.tracer ? spanTimeMs() : 0;
    for (const e of entries) {
      queue.remove(e);
      detach(e);
      endSpan(e.queueSpan, undefined, dispatchedMs);
    }
    instruments?.setQueueDepth(queue.size);
    const placement = { size: entries.length, device: slot.instance.device, instance: slot.instance.index };
    const batchSpan = startBatchSpan(instruments, entries.map((e) => e.request.traceContext), placement, dispatchedMs);
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
      executions++;
      slot.executions++;
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
      running--;
      free.push(slot);
      if (queue.size > 0) schedulePump();
      else maybeDrained();
    }
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
    if (closing && drained && queue.size === 0 && running === 0) drained();
  }

  const execute = (request: ExecutionRequest): Promise<ExecutionResult> =>
    new Promise<ExecutionResult>((resolve, reject) => {
      if (closing) throw unavailable('the model is unloading; it takes no new requests');
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
      const entry: Entry = {
        request, rows, key, deadlineMs, level: priority, enqueuedAtMs: now, enqueuedNs: process.hrtime.bigint(), resolve, reject, queued: false,
      };
      entry.queueSpan = startQueueSpan(instruments, request.traceContext, priority);
      queue.push(entry);
      instruments?.setQueueDepth(queue.size);
      if (Number.isFinite(deadlineMs)) {
        entry.timer = setTimeout(() => drop(entry, expired(entry)), Math.max(0, deadlineMs - now));
        entry.timer.unref();
      }
      if (request.signal) {
        entry.onAbort = () => drop(entry, new InfermeshError(Code.CANCELLED, 'the request was cancelled while it waited in the queue; it did not run'));
        // One stream's signal may guard many queued requests: that is no leak.
        setMaxListeners(0, request.signal);
        request.signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      if (free.length > 0) schedulePump();
    });

  const expired = (e: Entry) =>
    new InfermeshError(Code.DEADLINE_EXCEEDED, `the deadline passed after ${Math.round(clock.nowMs() - e.enqueuedAtMs)} ms in the queue; the request did not run`);

  return {
    devices: slots.map((s) => s.instance.device),
    notes: pool.notes,
    execute,
    queueDepth: () => queue.size,
    executionCount: () => executions,
    batchStatistics: () => [...batchStats.values()].map((s) => ({ ...s })).sort((a, b) => a.batchSize - b.batchSize),
    instanceStatistics: () =>
      slots.map((s) => ({
        device: s.instance.device,
        sessionThread: pool.sessionThread,
        intraOpThreads: s.instance.intraOpThreads,
        interOpThreads: s.instance.interOpThreads,
        warmupRuns: s.warmupRuns,
        executionCount: s.executions,
        busy: s.busy,
      })),
    peakConcurrentRuns: () => peakRunning,
    close: () =>
      (closed ??= (async () => {
        closing = true;
        await new Promise<void>((resolve) => {
          drained = resolve;
          schedulePump();
        });
        if (pumpTimer) clearTimeout(pumpTimer);
        await pool.close();
      })()),
  };
}

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
