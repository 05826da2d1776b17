export { createInferenceServer, DEFAULT_DRAIN_TIMEOUT_MS, type InferenceServer, type InferenceServerOptions, type CloseOptions } from './inference-server.js';
export { buildInferResponse, type InferResponseParts } from './response-encoder.js';
export { decodeInferRequest, type DecodedInferRequest } from './request-decoder.js';
export { SERVER_NAME, SERVER_VERSION, SERVER_EXTENSIONS } from './health-handlers.js';
export { PLATFORM, toProtoConfig } from './model-handlers.js';
export { runInference, type InferCallContext, type InferDeps, type ModelMissHandler } from './infer-service.js';
export { MODEL_STREAM_INFER_METHOD } from './infer-handlers.js';
export {
  DEFAULT_INFER_REQUEST_LIMITS, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_QUEUED_REQUEST_BYTES, DEFAULT_MAX_UNANSWERED_PER_STREAM, RequestByteBudget, type InferRequestLimits,
} from './request-limits.js';
export { decodeModelInferRequest, InferDecodeFailure, requestWireBytes } from './infer-request-wire.js';
export { encodeModelInferResponse, encodeModelStreamInferResponse } from './infer-response-wire.js';
export { MODEL_CONTROL_FLAG, requireModelControl, type ModelControlMode } from './repository-handlers.js';
