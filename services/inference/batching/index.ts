export { createBatchingExecutor } from './batching-executor.js';
export type { ExecutorInstruments } from './batch-spans.js';
