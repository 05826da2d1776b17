import type { BatchStatistics, ExecutionTimings } from '../execution/index.js';

/** A count and a cumulative duration in ns, as StatisticDuration reports them. */
export interface Duration {
  count: number;
  ns: bigint;
}

const duration = (): Duration => ({ count: 0, ns: 0n });

/**
 * Cumulative request statistics of one model version (ModelStatistics): the
 * server records each request once, after it answers.
 */
export class VersionStatistics {
  /** When the last request finished, in ms since the epoch (0 = never). */
  lastInferenceMs = 0;
  /** Inferences served: each item of a batch counts (a request of batch 8 adds 8). */
  inferenceCount = 0;
  readonly success = duration();
  readonly fail = duration();
  readonly queue = duration();
  readonly computeInput = duration();
  readonly computeInfer = duration();
  readonly computeOutput = duration();
  /** Executions and batch statistics of executors that were swapped out or closed. */
  retiredExecutions = 0;
  retiredBatchStats: BatchStatistics[] = [];

  /** Records a request that succeeded: `inferences` items, `totalNs` end to end. */
  recordSuccess(inferences: number, totalNs: bigint, timings: ExecutionTimings, nowMs = Date.now()): void {
    this.lastInferenceMs = nowMs;
    this.inferenceCount += inferences;
    add(this.success, totalNs);
    add(this.queue, timings.queueNs);
    add(this.computeInput, timings.computeInputNs);
    add(this.computeInfer, timings.computeInferNs);
    add(this.computeOutput, timings.computeOutputNs);
  }

  /** Records a request that failed after it reached this version. */
  recordFailure(totalNs: bigint, nowMs = Date.now()): void {
    this.lastInferenceMs = nowMs;
    add(this.fail, totalNs);
  }

  /** Folds a retiring executor's counts in, so that a swap keeps the version's totals. */
  retire(executions: number, batchStats: readonly BatchStatistics[]): void {
    this.retiredExecutions += executions;
    this.retiredBatchStats = mergeBatchStatistics(this.retiredBatchStats, batchStats);
  }
}

function add(d: Duration, ns: bigint): void {
  d.count++;
  d.ns += ns;
}

/** Sums two lists of batch statistics by batch size. */
export function mergeBatchStatistics(a: readonly BatchStatistics[], b: readonly BatchStatistics[]): BatchStatistics[] {
  const bySize = new Map<number, BatchStatistics>();
  for (const s of [...a, ...b]) {
    const t = bySize.get(s.batchSize);
    if (!t) bySize.set(s.batchSize, { ...s });
    else {
      t.count += s.count;
      t.computeInputNs += s.computeInputNs;
      t.computeInferNs += s.computeInferNs;
      t.computeOutputNs += s.computeOutputNs;
    }
  }
  return [...bySize.values()].sort((x, y) => x.batchSize - y.batchSize);
}
