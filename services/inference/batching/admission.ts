import type { Span } from '@opentelemetry/api';
import { Code, InfermeshError, invalidArgument, resourceExhausted } from '../../../shared/errors/index.js';
import type { ExecutionRequest, ExecutionResult } from '../execution/executor.js';
import { batchRows, shapeKey } from './batch-assembly.js';
import { startQueueSpan, type ExecutorInstruments } from './batch-spans.js';
import type { BatchCandidate } from './form-batch.js';
import type { QueueEntry } from './request-queue.js';

/** A request waiting in the executor's queue, with its caller's promise. */
export interface QueuedRequest extends QueueEntry, BatchCandidate {
  readonly request: ExecutionRequest;
  /** When it was queued, on the monotonic clock (performance.now(), ms): its queue time is measured from here. */
  readonly enqueuedMonoMs: number;
  readonly resolve: (r: ExecutionResult) => void;
  readonly reject: (e: unknown) => void;
  queueSpan: Span | undefined;
}

/** What admission checks a request against. */
export interface AdmissionSettings {
  readonly maxBatchSize: number;
  readonly maxQueueSize: number;
  readonly defaultTimeoutMs: number;
  readonly priorityLevels: number;
}

/**
 * Checks a request at the door and makes its queue entry (the one allocation
 * per request; its queue span starts here). Throws INVALID_ARGUMENT for a bad
 * priority or batch dimension, CANCELLED or DEADLINE_EXCEEDED when it is
 * already over, RESOURCE_EXHAUSTED when `queueSize` is at the bound.
 */
export function admitRequest(
  request: ExecutionRequest,
  settings: AdmissionSettings,
  queueSize: number,
  nowMs: number,
  resolve: (r: ExecutionResult) => void,
  reject: (e: unknown) => void,
  instruments: ExecutorInstruments | undefined,
): QueuedRequest {
  const { maxBatchSize, priorityLevels, defaultTimeoutMs, maxQueueSize } = settings;
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
  const deadlineMs = Number.isFinite(request.deadlineMs) ? request.deadlineMs : defaultTimeoutMs > 0 ? nowMs + defaultTimeoutMs : Infinity;
  if (request.signal?.aborted) throw new InfermeshError(Code.CANCELLED, 'the request was cancelled before it was queued');
  if (deadlineMs <= nowMs) throw new InfermeshError(Code.DEADLINE_EXCEEDED, 'the deadline passed before the request was queued');
  if (queueSize >= maxQueueSize) {
    throw resourceExhausted(`the model's queue is full (${maxQueueSize} requests waiting); retry later`);
  }
  return {
    request, rows, key, deadlineMs, signal: request.signal, level: priority, enqueuedAtMs: nowMs, enqueuedMonoMs: performance.now(), resolve, reject, queued: false,
    queueSpan: startQueueSpan(instruments, request.traceContext, priority),
  };
}

/** Weight of the newest gap in the arrival-gap average. */
export const ARRIVAL_SMOOTHING = 0.2;

/** The moving average of the gap between arrivals, in ms, that batch formation reads (BatchPolicy.arrivalGapMs). */
export class ArrivalGap {
  #lastMs: number | undefined;
  #gapMs: number | undefined;

  /** The average so far; undefined before the second arrival. */
  get gapMs(): number | undefined {
    return this.#gapMs;
  }

  /** Records an arrival at `nowMs`; returns the new average. */
  observe(nowMs: number): number | undefined {
    if (this.#lastMs !== undefined) {
      const gap = nowMs - this.#lastMs;
      this.#gapMs = this.#gapMs === undefined ? gap : this.#gapMs + ARRIVAL_SMOOTHING * (gap - this.#gapMs);
    }
    this.#lastMs = nowMs;
    return this.#gapMs;
  }
}
