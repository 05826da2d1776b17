export { createInferenceServer, DEFAULT_DRAIN_TIMEOUT_MS, type InferenceServer, type InferenceServerOptions, type CloseOptions } from './inference-server.js';
export { buildInferResponse, type InferResponseParts } from './response-encoder.js';
export { decodeInferRequest, type DecodedInferRequest } from './request-decoder.js';
export { SERVER_NAME, SERVER_VERSION, SERVER_EXTENSIONS } from './health-handlers.js';
export { PLATFORM, toProtoConfig } from './model-handlers.js';
export { runInference, type InferCallContext, type InferDeps, type ModelMissHandler } from './infer-service.js';
export { MODEL_STREAM_INFER_METHOD } from './infer-handlers.js';
