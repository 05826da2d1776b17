import type { Logger } from '../../../shared/logging/index.js';
import type { ModelSignature } from '../../../shared/onnx/index.js';
import type { ModelConfig } from '../models/model-config.js';
import { DirectExecutor } from './direct-executor.js';
import type { ModelExecutor } from './executor.js';
import { createPinnedSession, type ModelSource } from './session-options.js';
import { runWarmup } from './warmup.js';

/** What {@link createModelExecutor} needs to build the executor of one model version. */
export type CreateModelExecutorOptions = ModelSource & {
  /** The version's resolved config (batching, instances, threads, warm-up). */
  config: ModelConfig;
  /** The version's signature, read from the ONNX file. */
  signature: ModelSignature;
  logger: Logger;
};

/**
 * THE factory through which the model manager obtains every executor. Resolves
 * with a ready executor (sessions created, warm-up run); rejects with an
 * InfermeshError (UNAVAILABLE when the model or its device cannot be loaded).
 *
 * Today it returns a {@link DirectExecutor} on the first instance group's device
 * (one session, no batching). The batching scheduler replaces the body of this
 * function; callers never name an executor class.
 */
export async function createModelExecutor(options: CreateModelExecutorOptions): Promise<ModelExecutor> {
  const { config, signature, logger } = options;
  const source: ModelSource = 'modelPath' in options ? { modelPath: options.modelPath } : { modelBytes: options.modelBytes };
  const pinned = await createPinnedSession(source, config.instances[0]?.device ?? 'cpu', config);
  const executor = new DirectExecutor({ session: pinned.session, device: pinned.device, notes: pinned.notes, maxBatchSize: config.maxBatchSize, logger });
  try {
    await runWarmup(executor, config.warmup, signature.outputs.map((o) => o.name));
  } catch (err) {
    await executor.close();
    throw err;
  }
  return executor;
}
