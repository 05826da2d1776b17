export { createModelExecutor, type CreateModelExecutorOptions } from './create-model-executor.js';
export { DirectExecutor, type DirectExecutorOptions } from './direct-executor.js';
export { createPinnedSession, type ModelSource, type PinnedSession } from './session-options.js';
export { runWarmup } from './warmup.js';
export type { ModelExecutor, ExecutionRequest, ExecutionResult, ExecutionTimings, BatchStatistics } from './executor.js';
