import { invalidArgument } from '../../../shared/errors/index.js';
import type { BatchingConfig } from './batching-executor.js';
import { DEFAULT_CURVE_PROBE_BUDGET_MS } from './curve-probe.js';
import type { ExecutionThread } from './thread-placement.js';

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
