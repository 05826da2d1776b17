import type * as ort from 'onnxruntime-node';
import { InfermeshError, Code } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { BatchStatistics, ExecutionRequest, ExecutionResult, ModelExecutor } from './executor.js';

/** Options of {@link DirectExecutor}. */
export interface DirectExecutorOptions {
  session: ort.InferenceSession;
  device: string;
  notes?: readonly string[];
  /** > 0 when the first dim of every input is the batch dim (used for batch_stats). */
  maxBatchSize: number;
  logger: Logger;
}

/**
 * The simplest executor: one ORT session, each request run on its own as soon
 * as it arrives (no queue, no batching). It checks the deadline and abort signal
 * before running; close() waits for in-flight runs, then releases the session.
 */
export class DirectExecutor implements ModelExecutor {
  readonly devices: readonly string[];
  readonly notes: readonly string[];
  readonly #session: ort.InferenceSession;
  readonly #maxBatchSize: number;
  readonly #logger: Logger;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #batchStats = new Map<number, BatchStatistics>();
  #executions = 0;
  #closed: Promise<void> | undefined;

  constructor(options: DirectExecutorOptions) {
    this.#session = options.session;
    this.devices = [options.device];
    this.notes = [...(options.notes ?? [])];
    this.#maxBatchSize = options.maxBatchSize;
    this.#logger = options.logger;
  }

  async execute(request: ExecutionRequest): Promise<ExecutionResult> {
    if (this.#closed) throw new InfermeshError(Code.UNAVAILABLE, 'the model version is unloading');
    if (request.signal?.aborted) throw new InfermeshError(Code.CANCELLED, 'the caller cancelled the request');
    if (Date.now() >= request.deadlineMs) throw new InfermeshError(Code.DEADLINE_EXCEEDED, 'the deadline passed before the request ran');
    const run = this.#run(request);
    this.#inFlight.add(run);
    try {
      return await run;
    } finally {
      this.#inFlight.delete(run);
    }
  }

  async #run(request: ExecutionRequest): Promise<ExecutionResult> {
    const start = process.hrtime.bigint();
    let outputs: ort.InferenceSession.ReturnType;
    try {
      outputs = await this.#session.run(request.inputs, request.outputNames);
    } catch (err) {
      // ORT rejects inputs the front end could not judge (e.g. a shape the graph's ops cannot take).
      throw new InfermeshError(Code.INVALID_ARGUMENT, `ONNX Runtime rejected the request: ${(err as Error).message}`, { cause: err });
    }
    const inferNs = process.hrtime.bigint() - start;
    this.#executions++;
    const first = Object.values(request.inputs)[0];
    const batch = this.#maxBatchSize > 0 && first && first.dims.length > 0 ? Number(first.dims[0]) : 1;
    const stats = this.#batchStats.get(batch) ?? { batchSize: batch, count: 0, computeInputNs: 0n, computeInferNs: 0n, computeOutputNs: 0n };
    stats.count++;
    stats.computeInferNs += inferNs;
    this.#batchStats.set(batch, stats);
    return {
      outputs: outputs as Record<string, ort.Tensor>,
      timings: { queueNs: 0n, computeInputNs: 0n, computeInferNs: inferNs, computeOutputNs: 0n },
      batchSize: 1,
    };
  }

  queueDepth(): number {
    return 0;
  }

  executionCount(): number {
    return this.#executions;
  }

  batchStatistics(): BatchStatistics[] {
    return [...this.#batchStats.values()].map((s) => ({ ...s })).sort((a, b) => a.batchSize - b.batchSize);
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      try {
        await this.#session.release();
      } catch (err) {
        this.#logger.warn('releasing the ORT session failed', { err });
      }
    })();
    return this.#closed;
  }
}
