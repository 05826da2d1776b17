import type { BatchStatistics, ExecutionTimings } from '../execution/index.js';

/** A count and a cumulative duration in ns, as StatisticDuration reports them. */
export interface Duration {
  readonly count: number;
  readonly ns: bigint;
}

/** Sums beyond this many ns move into the BigInt: below it, whole numbers add exactly as doubles (2^53 is the limit). */
const FOLD_AT_NS = 2 ** 50;

/**
 * A {@link Duration} that adds whole-ns numbers without making a BigInt per
 * request: they add up as a double (exact for whole numbers below 2^53) and
 * move into the exact BigInt total whenever the double passes 2^50.
 */
class DurationSum implements Duration {
  count = 0;
  #folded = 0n;
  #pending = 0;

  get ns(): bigint {
    return this.#folded + BigInt(this.#pending);
  }

  add(ns: number): void {
    this.count++;
    this.#pending += ns;
    if (this.#pending >= FOLD_AT_NS) {
      this.#folded += BigInt(this.#pending);
      this.#pending = 0;
    }
  }
}

/**
 * Cumulative request statistics of one model version (ModelStatistics): the
 * server records each request once, after it answers.
 */
export class VersionStatistics {
  /** When the last request finished, in ms since the epoch (0 = never). */
  lastInferenceMs = 0;
  /** Inferences served: each item of a batch counts (a request of batch 8 adds 8). */
  inferenceCount = 0;
  readonly success = new DurationSum();
  readonly fail = new DurationSum();
  readonly queue = new DurationSum();
  readonly computeInput = new DurationSum();
  readonly computeInfer = new DurationSum();
  readonly computeOutput = new DurationSum();
  /** Executions and batch statistics of executors that were swapped out or closed. */
  retiredExecutions = 0;
  retiredBatchStats: BatchStatistics[] = [];

  /** Records a request that succeeded: `inferences` items, `totalNs` end to end. */
  recordSuccess(inferences: number, totalNs: number, timings: ExecutionTimings, nowMs = Date.now()): void {
    this.lastInferenceMs = nowMs;
    this.inferenceCount += inferences;
    this.success.add(totalNs);
    this.queue.add(timings.queueNs);
    this.computeInput.add(timings.computeInputNs);
    this.computeInfer.add(timings.computeInferNs);
    this.computeOutput.add(timings.computeOutputNs);
  }

  /** Records a request that failed after it reached this version. */
  recordFailure(totalNs: number, nowMs = Date.now()): void {
    this.lastInferenceMs = nowMs;
    this.fail.add(totalNs);
  }

  /** Folds a retiring executor's counts in, so that a swap keeps the version's totals. */
  retire(executions: number, batchStats: readonly BatchStatistics[]): void {
    this.retiredExecutions += executions;
    this.retiredBatchStats = mergeBatchStatistics(this.retiredBatchStats, batchStats);
  }
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
