export { createModelExecutor, type CreateModelExecutorOptions } from './create-model-executor.js';
export type { ModelExecutor, ModelSource, ExecutionRequest, ExecutionTimings, BatchStatistics, TensorView } from './executor.js';
export { profileParameters } from './profile-parameters.js';
