/** The inference node: model manager, gRPC server, executors, and its CLI verbs. */
export { startInferenceNode, type InferenceNode, type InferenceNodeOptions } from './inference-node.js';
export { registerInferenceCommands, registerPlacementCommand } from './cli/index.js';
export {
  ModelManager,
  createModelManager,
  type ModelManagerOptions,
  type ModelRouting,
  type VersionSource,
  type VersionStatus,
  type LoadedVersion,
} from './models/index.js';
export { createInferenceServer, type InferenceServer, type InferenceServerOptions } from './server/index.js';
export { createModelExecutor, type CreateModelExecutorOptions, type ModelExecutor } from './execution/index.js';
export { createVersionInstruments, type InferenceTelemetry, type VersionInstruments } from './telemetry/index.js';
