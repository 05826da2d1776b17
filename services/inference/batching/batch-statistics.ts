import type { BatchStatistics } from '../execution/executor.js';

/** Where one batch's time went, in ns of process.hrtime.bigint(). */
export interface BatchTimes {
  /** When the batch was taken from the queue. */
  readonly startNs: bigint;
  /** When its inputs were assembled. */
  readonly assembledNs: bigint;
  /** When the run ended. */
  readonly inferNs: bigint;
  /** The run itself, as the session measured it. */
  readonly runNs: bigint;
  /** When its outputs were sliced. */
  readonly outputNs: bigint;
}

/**
 * The executor's per-batch-size statistics (BatchStatistics): counts and
 * cumulative compute input / infer / output ns per size.
 */
export class BatchStatisticsTable {
  readonly #bySize = new Map<number, BatchStatistics>();

  /** Records one batch of `size` (1 for every run of a model that does not batch). */
  record(size: number, t: BatchTimes): void {
    let s = this.#bySize.get(size);
    if (!s) this.#bySize.set(size, (s = { batchSize: size, count: 0, computeInputNs: 0n, computeInferNs: 0n, computeOutputNs: 0n }));
    s.count++;
    s.computeInputNs += t.assembledNs - t.startNs;
    s.computeInferNs += t.runNs;
    s.computeOutputNs += t.outputNs - t.inferNs;
  }

  /** Copies of every size's statistics, by ascending size. */
  snapshot(): BatchStatistics[] {
    return [...this.#bySize.values()].map((s) => ({ ...s })).sort((a, b) => a.batchSize - b.batchSize);
  }
}

/**
 * Time between assembly and the run's end that was not the run itself (the
 * hand-off to the session's thread): it counts as waiting.
 */
export function handoffNs(t: BatchTimes): bigint {
  return t.inferNs - t.assembledNs - t.runNs;
}

/**
 * The node's own work on a batch, for its throughput curve: assembly, slicing,
 * and on a worker the hand-off (on the event-loop thread that wait is other
 * requests' work).
 */
export function batchOverheadNs(t: BatchTimes, onWorker: boolean): bigint {
  return t.assembledNs - t.startNs + (t.outputNs - t.inferNs) + (onWorker ? handoffNs(t) : 0n);
}
