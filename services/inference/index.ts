/** The inference node: model manager, gRPC server, executors, and its CLI verbs. */
export { startInferenceNode, type InferenceNode } from './inference-node.js';
export { registerInferenceCommands, registerPlacementCommand } from './cli/index.js';
export { ModelManager, createModelManager } from './models/index.js';
export { createInferenceServer, type InferenceServer } from './server/index.js';
