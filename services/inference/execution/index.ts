export { createModelExecutor, type CreateModelExecutorOptions } from './create-model-executor.js';
export type { ModelExecutor, ModelSource, ExecutionRequest, ExecutionResult, ExecutionTimings, BatchStatistics } from './executor.js';
