/**
 * The TypeScript client of inference nodes (KServe v2 / Triton gRPC): typed
 * unary calls, async-iterable streams, and tensor helpers.
 */
export { createInferenceClient, type InferenceClient, type InferenceClientOptions } from './inference-client.js';
export { createFailoverInferenceClient } from './failover-client.js';
export { isConnectionLoss, isNeverSent } from '../rpc/index.js';
export { STREAM_ERROR_CODE_PARAMETER, type StreamResult } from './infer-stream.js';
export { buildInferRequest, type InputTensor } from './request-builder.js';
export { decodeInferResponse } from './response-decoder.js';
export { TRACE_ID_PARAMETER, traceIdOfResponse } from './trace-id.js';
