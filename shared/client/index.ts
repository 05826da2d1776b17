/**
 * The TypeScript client of inference nodes (KServe v2 / Triton gRPC): typed
 * unary calls, async-iterable streams, and tensor helpers.
 */
export { createInferenceClient, type CallOptions, type InferenceClient, type InferenceClientOptions } from './inference-client.js';
export { createFailoverInferenceClient } from './failover-client.js';
export { isConnectionLoss, isNeverSent } from '../rpc/index.js';
export { STREAM_ERROR_CODE_PARAMETER, type InferStream, type StreamResult } from './infer-stream.js';
export { buildInferRequest, type InferRequestSpec, type InputTensor } from './request-builder.js';
export { decodeInferResponse, type DecodedTensor } from './response-decoder.js';
export { TRACE_ID_PARAMETER, traceIdOfResponse } from './trace-id.js';
export type { TensorData, TensorValues } from '../tensor/index.js';
export type { ModelInferRequest } from '../generated/inference/ModelInferRequest.js';
export type { ModelInferResponse__Output as ModelInferResponse } from '../generated/inference/ModelInferResponse.js';
