/** The inference node's REST front end: the Open Inference Protocol (KServe v2) over HTTP, with Triton's binary tensor extension. */
export { createHttpInferenceServer, DEFAULT_HTTP_MAX_BODY_BYTES, DEFAULT_HTTP_REQUEST_TIMEOUT_MS, type HttpInferenceServer } from './http-server.js';
