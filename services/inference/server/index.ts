export { createInferenceServer, DEFAULT_DRAIN_TIMEOUT_MS, type InferenceServer } from './inference-server.js';
export { SERVER_NAME, SERVER_VERSION, SERVER_EXTENSIONS } from './health-handlers.js';
export { PLATFORM, toProtoConfig } from './model-handlers.js';
export { runInference, type InferCallContext, type InferDeps, type ModelMissHandler } from './infer-service.js';
export { DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_QUEUED_REQUEST_BYTES } from './request-limits.js';
export { requireModelControl, type ModelControlMode } from './repository-handlers.js';
