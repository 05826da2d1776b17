import { invalidArgument } from '../../../shared/errors/index.js';
import { DEFAULT_CURVE_PROBE_BUDGET_MS } from './curve-probe.js';
import type { InstanceGroupSpec } from './devices.js';
import type { ExecutionThread } from './thread-placement.js';
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

/** Default `maxQueueSize`: requests that may wait. */
export const DEFAULT_MAX_QUEUE_SIZE = 1024;

/** A {@link BatchingConfig}'s scheduling fields, checked and with their defaults, in the units the executor uses. */
export interface BatchingSettings {
  readonly maxBatchSize: number;
  readonly maxQueueDelayMs: number;
  readonly maxQueueSize: number;
  readonly defaultTimeoutMs: number;
  readonly priorityLevels: number;
  readonly probeBudgetMs: number;
  /** Preferred batch sizes, largest first. */
  readonly preferredBatchSizes: readonly number[];
  readonly executionThread: ExecutionThread;
}

/**
 * Resolves the config once, at construction: defaults applied, µs turned into
 * ms. Throws INVALID_ARGUMENT naming the field for a bad value. `threadOverride`
 * replaces `config.executionThread` (tests).
 */
export function resolveBatchingSettings(config: BatchingConfig, threadOverride?: ExecutionThread): BatchingSettings {
  const maxBatchSize = intOption('maxBatchSize', config.maxBatchSize, 0);
  const maxQueueDelayMs = intOption('maxQueueDelayUs', config.maxQueueDelayUs ?? 0, 0) / 1000;
  const maxQueueSize = intOption('maxQueueSize', config.maxQueueSize ?? DEFAULT_MAX_QUEUE_SIZE, 1);
  const defaultTimeoutMs = intOption('defaultTimeoutMs', config.defaultTimeoutMs ?? 0, 0);
  const priorityLevels = intOption('priorityLevels', config.priorityLevels ?? 1, 1);
  const probeBudgetMs = intOption('curveProbeBudgetMs', config.curveProbeBudgetMs ?? DEFAULT_CURVE_PROBE_BUDGET_MS, 0);
  const preferredBatchSizes = [...(config.preferredBatchSizes ?? [])].sort((a, b) => b - a);
  for (const p of preferredBatchSizes) {
    if (!Number.isInteger(p) || p < 1 || p > maxBatchSize) {
      throw invalidArgument(`preferredBatchSizes: ${p} is not an integer from 1 to maxBatchSize (${maxBatchSize})`);
    }
  }
  const executionThread = threadOverride ?? config.executionThread ?? 'auto';
  if (!['auto', 'main', 'worker'].includes(executionThread)) {
    throw invalidArgument(`executionThread: expected 'auto', 'main' or 'worker', got ${JSON.stringify(executionThread)}`);
  }
  return { maxBatchSize, maxQueueDelayMs, maxQueueSize, defaultTimeoutMs, priorityLevels, probeBudgetMs, preferredBatchSizes, executionThread };
}

function intOption(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw invalidArgument(`${name}: expected an integer >= ${min}, got ${String(value)}`);
  return value;
}
