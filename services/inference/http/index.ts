/** The inference node's REST front end: the Open Inference Protocol (KServe v2) over HTTP, with Triton's binary tensor extension. */
export {
  createHttpInferenceServer,
  DEFAULT_HTTP_MAX_BODY_BYTES,
  DEFAULT_HTTP_REQUEST_TIMEOUT_MS,
  TRACE_ID_HEADER,
  type HttpInferenceServer,
  type HttpInferenceServerOptions,
} from './http-server.js';
export { INFERENCE_HEADER_CONTENT_LENGTH } from './rest-request-decoder.js';
