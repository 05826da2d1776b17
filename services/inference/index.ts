/** The inference node: model manager, gRPC server, executors, and its CLI verbs. */
export { startInferenceNode, type InferenceNode, type InferenceNodeOptions } from './inference-node.js';
export { registerInferenceCommands } from './cli/index.js';
export { buildDemoMlp, writeDemoRepository, DEMO_MODEL_NAME } from './demo/demo-mlp.js';
