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
export { AUTO_WORKER_MIN_MODEL_BYTES, EXECUTION_THREADS, type ExecutionThread, type ThreadDecision } from './thread-placement.js';
export { DEFAULT_CURVE_PROBE_BUDGET_MS } from './curve-probe.js';
export { formBatch, type BatchCandidate, type BatchDecision, type BatchPolicy } from './form-batch.js';
export { ThroughputCurve, type CurveView } from './throughput-curve.js';
export type { ExecutorInstruments } from './batch-spans.js';
