export { createTelemetry, type Telemetry } from './telemetry.js';
export { createMonitorMetrics, type InferenceMetrics, type RegistryMetrics, type MonitorMetrics } from './metrics.js';
export { METRICS } from './metric-names.js';
export { injectIntoMetadata, injectIntoHeaders, extractFromHeaders, traceIdOf, TRACEPARENT_HEADER } from './propagation.js';
export { startServerSpan, endRpcSpan, withServerSpan, withClientSpan, traceUnaryHandler, rpcAttributes } from './rpc-spans.js';
export { withPublishSpan, withConsumeSpan } from './messaging-spans.js';
export { startHttpServerSpan, endHttpSpan } from './http-spans.js';
export { setClientAttributes, clientAttributes, recordSpanError, MAX_CLIENT_ATTRIBUTE_CHARS, CLIPPED_MARKER } from './client-attributes.js';
export { ATTR_MODEL_NAME, ATTR_MODEL_VERSION, ATTR_BATCH_SIZE, ATTR_DEVICE, ATTR_INSTANCE, ATTR_NODE_ID, ATTR_FORWARD_PEER, ATTR_QUEUE_PRIORITY, ATTR_RPC_GRPC_STATUS_CODE, SPAN_NAMES } from './attributes.js';
