export { createModelExecutor, type CreateModelExecutorOptions } from './create-model-executor.js';
export type { ModelExecutor, ModelSource, ExecutionRequest, ExecutionResult, ExecutionTimings, BatchStatistics, ExecutorProfile, ThroughputPoint } from './executor.js';
export { profileParameters } from './profile-parameters.js';
