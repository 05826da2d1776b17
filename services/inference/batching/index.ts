export {
  createBatchingExecutor,
  systemClock,
  type BatchingConfig,
  type BatchingExecutor,
  type BatchingExecutorOptions,
  type Clock,
  type InstanceStatistics,
} from './batching-executor.js';
export { parseDevice, resolveInstanceDevices, DEFAULT_INSTANCE_GROUPS, MAX_INSTANCES_PER_GROUP, type Device, type InstanceGroupSpec } from './devices.js';
export { batchRows, concatInputs, shapeKey, sliceOutputs } from './batch-assembly.js';
export type { WarmupInputSpec, WarmupSampleSpec } from './warmup.js';
export { addOneModel, mlpModel, stringIdentityModel } from './sample-models.js';
export { AUTO_WORKER_MIN_MODEL_BYTES, type SessionThread } from './session-runner.js';
export type { ExecutorInstruments } from './batch-spans.js';
