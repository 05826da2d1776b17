import type { Logger } from '../../../shared/logging/index.js';
import type { ModelSignature } from '../../../shared/onnx/index.js';
import type { ModelConfig } from '../../../shared/model-config/index.js';
import { createBatchingExecutor, type ExecutorInstruments } from '../batching/index.js';
import type { ModelExecutor, ModelSource } from './executor.js';

/** What {@link createModelExecutor} needs to build the executor of one model version. */
export type CreateModelExecutorOptions = ModelSource & {
  /** The version's resolved config (batching, instances, threads, warm-up). */
  config: ModelConfig;
  /** The version's signature, read from the ONNX file. */
  signature: ModelSignature;
  logger: Logger;
  /** The version's tracer, span attributes and metrics (see batching/batch-spans.ts). Default: none. */
  instruments?: ExecutorInstruments;
};

/**
 * THE factory through which the model manager obtains every executor. Resolves
 * with a ready executor (sessions created, warm-up run); rejects with an
 * InfermeshError (UNAVAILABLE when the model or its device cannot be loaded).
 *
 * It returns the batching executor (services/inference/batching): a bounded
 * priority queue with dynamic batching in front of one ORT session per
 * configured instance, each pinned to its device, warmed up on every instance.
 * With maxBatchSize 0 it runs each request as sent. Callers never name an
 * executor class.
 */
export async function createModelExecutor(options: CreateModelExecutorOptions): Promise<ModelExecutor> {
  const { config, signature, logger, instruments } = options;
  const source = 'modelPath' in options ? { modelPath: options.modelPath } : { modelBytes: options.modelBytes };
  return createBatchingExecutor({ ...source, config, signature, logger, ...(instruments ? { instruments } : {}) });
}
