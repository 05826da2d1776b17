import type { Tensor } from 'onnxruntime-node';
import { Code, InfermeshError, unavailable } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { ExecutionRequest, ExecutionResult } from '../execution/executor.js';
import { admitRequest, ArrivalGap, type AdmissionSettings, type QueuedRequest } from './admission.js';
import { concatInputs } from './batch-assembly.js';
import { fetchNames, outputsPerRequest, runError } from './batch-outputs.js';
import { endSpan, spanTimeMs, startBatchSpan, startOrtRunSpan, type ExecutorInstruments } from './batch-spans.js';
import { batchOverheadNs, BatchStatisticsTable, handoffNs, type BatchTimes } from './batch-statistics.js';
import type { Clock } from './executor-clock.js';
import type { CurvePublisher } from './curve-gauges.js';
import { dropReason, expiredEntries, nextDispatch } from './dispatch.js';
import type { BatchPolicy } from './form-batch.js';
import { probeFromRequest, type Slot } from './prepare-instances.js';
import { PumpScheduler } from './pump-scheduler.js';
import { RequestQueue } from './request-queue.js';

/** Cancelled and expired requests are noticed at dispatch, and by a sweep at most this often while requests wait. */
export const SWEEP_INTERVAL_MS = 50;

const NS_PER_MS = 1e6;

/** What the run loop is built with (resolved once by the executor). */
export interface RunLoopOptions extends AdmissionSettings {
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueDelayMs: number;
  readonly probeBudgetMs: number;
  readonly priorityAgingMs: number;
  /** The instances, in order; the first free one takes the next batch. */
  readonly slots: readonly Slot[];
  /** Every output of the model (fetched for requests that name none). */
  readonly outputNames: readonly string[];
  /** Sessions run on worker threads (the hand-off counts as the node's overhead). */
  readonly onWorker: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly instruments: ExecutorInstruments | undefined;
  readonly curves: CurvePublisher;
}

/**
 * The executor's scheduling: a bounded priority queue, the free instances, and
 * the pump that hands each free instance its next batch ({@link nextDispatch}),
 * runs it, and answers each request with its own rows.
 *
 * No timer or listener is kept per request: deadlines and cancellation are
 * checked when a batch is formed, and by one sweep timer while requests wait.
 */
export class RunLoop {
  readonly #o: RunLoopOptions;
  readonly #queue: RequestQueue<QueuedRequest>;
  readonly #free: Slot[];
  readonly #scheduler: PumpScheduler;
  readonly #arrivals = new ArrivalGap();
  readonly #batchStats = new BatchStatisticsTable();
  /** Reused: formBatch reads it, the loop updates it. */
  readonly #policy: { -readonly [K in keyof BatchPolicy]: BatchPolicy[K] };
  #nextSweepMs = 0;
  #executions = 0;
  #running = 0;
  #peakRunning = 0;
  #probing = 0;
  #drained: (() => void) | undefined;

  constructor(options: RunLoopOptions) {
    this.#o = options;
    this.#queue = new RequestQueue<QueuedRequest>(options.priorityLevels, options.priorityAgingMs);
    this.#free = [...options.slots].reverse();
    this.#scheduler = new PumpScheduler(() => this.#pump());
    this.#policy = {
      maxBatchSize: options.maxBatchSize, preferredBatchSizes: options.preferredBatchSizes, maxQueueDelayMs: options.maxQueueDelayMs,
      closing: false, arrivalGapMs: undefined, backlog: false,
    };
  }

  /** Requests waiting. */
  get queueDepth(): number {
    return this.#queue.size;
  }

  /** Model runs so far (a batch counts once). */
  get executionCount(): number {
    return this.#executions;
  }

  /** The most batches ever running at once. */
  get peakConcurrentRuns(): number {
    return this.#peakRunning;
  }

  batchStatistics(): ReturnType<BatchStatisticsTable['snapshot']> {
    return this.#batchStats.snapshot();
  }

  /** Queues a request; settles once it has run, or was dropped. */
  execute(request: ExecutionRequest): Promise<ExecutionResult> {
    return new Promise<ExecutionResult>((resolve, reject) => {
      if (this.#policy.closing) throw unavailable('the model is unloading; it takes no new requests');
      const now = this.#o.clock.nowMs();
      const entry = admitRequest(request, this.#o, this.#queue.size, now, resolve, reject, this.#o.instruments);
      this.#policy.arrivalGapMs = this.#arrivals.observe(now);
      if (this.#queue.size === 0) {
        this.#nextSweepMs = now + SWEEP_INTERVAL_MS;
        this.#policy.backlog = false;
      }
      this.#queue.push(entry);
      if (this.#free.length > 0) this.#scheduler.schedule();
      else this.#scheduler.wakeAt(this.#nextSweepMs, now);
    });
  }

  /** Takes no new requests; resolves once the queue is empty and nothing runs or measures. */
  drain(): Promise<void> {
    this.#policy.closing = true;
    return new Promise<void>((resolve) => {
      this.#drained = resolve;
      this.#scheduler.schedule();
    });
  }

  /** Stops the timed wake-up (after {@link drain}). */
  stop(): void {
    this.#scheduler.cancel();
  }

  #drop(e: QueuedRequest, err: InfermeshError): void {
    this.#queue.remove(e);
    endSpan(e.queueSpan, err);
    e.reject(err);
  }

  #sweep(now: number): void {
    this.#nextSweepMs = now + SWEEP_INTERVAL_MS;
    const dead = expiredEntries(this.#queue.ordered(now), now);
    if (dead) for (const e of dead) this.#drop(e, dropReason(e, now));
  }

  #pump(): void {
    const queue = this.#queue;
    const now = this.#o.clock.nowMs();
    if (now >= this.#nextSweepMs && queue.size > 0) this.#sweep(now);
    let waitUntilMs = Infinity;
    while (this.#free.length > 0 && queue.size > 0) {
      const slot = this.#free[this.#free.length - 1]!;
      const d = nextDispatch(queue, slot, this.#policy, now);
      if (d.kind === 'probe') {
        this.#free.pop();
        void this.#measureOnRequest(slot, d.head.request.inputs);
        continue;
      }
      if (d.dropped) for (const e of d.dropped) this.#drop(e, dropReason(e, now));
      if (d.kind === 'idle') break;
      if (d.kind === 'wait') {
        waitUntilMs = d.untilMs;
        break;
      }
      this.#free.pop();
      void this.#runBatch(slot, d.entries, d.rows);
      // runBatch took its entries out of the queue before its first await.
      this.#policy.backlog = queue.size > 0;
    }
    this.#o.instruments?.setQueueDepth(queue.size);
    if (queue.size > 0) this.#scheduler.wakeAt(Math.min(waitUntilMs, this.#nextSweepMs), now);
    this.#maybeDrained();
  }

  async #runBatch(slot: Slot, entries: QueuedRequest[], rows: number): Promise<void> {
    const { instruments, outputNames, logger } = this.#o;
    const startNs = process.hrtime.bigint();
    const startMonoMs = performance.now();
    slot.busy = true;
    this.#running++;
    this.#peakRunning = Math.max(this.#peakRunning, this.#running);
    // The queue spans end exactly where the batch span starts. A request that is
    // not sampled has no queue span: a batch of such requests reads no clock and makes no span.
    let dispatchedMs = 0;
    let sampled = false;
    for (const e of entries) {
      this.#queue.remove(e);
      if (e.queueSpan) {
        if (!sampled) dispatchedMs = spanTimeMs();
        sampled = true;
        endSpan(e.queueSpan, undefined, dispatchedMs);
      }
    }
    const placement = { size: entries.length, device: slot.instance.device, instance: slot.instance.index };
    const batchSpan = sampled ? startBatchSpan(instruments, entries.map((e) => e.request.traceContext), placement, dispatchedMs) : undefined;
    try {
      const lone = entries.length === 1;
      const feeds = lone ? entries[0]!.request.inputs : concatInputs(entries.map((e) => e.request.inputs), rows);
      const fetches = fetchNames(entries, outputNames);
      const assembledNs = process.hrtime.bigint();
      let outputs: Record<string, Tensor>;
      let runNs: bigint;
      const ortSpan = startOrtRunSpan(instruments, batchSpan, placement);
      try {
        ({ outputs, runNs } = await slot.instance.runner.run(feeds, fetches, !lone));
      } catch (err) {
        const error = runError(err);
        endSpan(ortSpan, error);
        throw error;
      }
      endSpan(ortSpan);
      const inferNs = process.hrtime.bigint();
      const sliced = outputsPerRequest(outputs, entries, outputNames);
      const times: BatchTimes = { startNs, assembledNs, inferNs, runNs, outputNs: process.hrtime.bigint() };
      this.#executions++;
      slot.executions++;
      slot.curve?.record(rows, Number(runNs), Number(batchOverheadNs(times, this.#o.onWorker)));
      this.#batchStats.record(this.#o.maxBatchSize === 0 ? 1 : rows, times);
      instruments?.recordBatch(entries.length);
      endSpan(batchSpan);
      // The batch's figures once, as numbers; per request only its queue time differs.
      const waitNs = Number(handoffNs(times));
      const inputNs = Number(assembledNs - startNs);
      const inferRunNs = Number(runNs);
      const outputNs = Number(times.outputNs - inferNs);
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        e.resolve({
          outputs: sliced[i]!,
          batchSize: entries.length,
          timings: {
            queueNs: Math.round((startMonoMs - e.enqueuedMonoMs) * NS_PER_MS) + waitNs,
            computeInputNs: inputNs,
            computeInferNs: inferRunNs,
            computeOutputNs: outputNs,
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
      this.#running--;
      this.#free.push(slot);
      if (this.#queue.size > 0) this.#scheduler.schedule();
      else this.#maybeDrained();
      this.#o.curves.publish(false);
    }
  }

  /** The first request shows the shapes the load-time probe lacked: the slot measures its curve on them, then serves. */
  async #measureOnRequest(slot: Slot, inputs: Readonly<Record<string, Tensor>>): Promise<void> {
    slot.busy = true;
    this.#probing++;
    await probeFromRequest(slot, inputs, this.#o.maxBatchSize, this.#o.probeBudgetMs, this.#o.logger);
    slot.busy = false;
    this.#probing--;
    this.#free.push(slot);
    this.#o.curves.publish(true);
    this.#scheduler.schedule();
  }

  #maybeDrained(): void {
    if (this.#policy.closing && this.#drained && this.#queue.size === 0 && this.#running === 0 && this.#probing === 0) this.#drained();
  }
}
