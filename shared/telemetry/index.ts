export {
  createTelemetry,
  parseSampling,
  normalizeOtlpEndpoint,
  DEFAULT_OTLP_ENDPOINT,
  DEFAULT_TELEMETRY_OPTIONS,
  type Telemetry,
  type TelemetryOptions,
} from './telemetry.js';
export {
  createInferenceMetrics,
  createRegistryMetrics,
  createMonitorMetrics,
  createTelemetryMetrics,
  createMetricGroups,
  LATENCY_BUCKETS_SECONDS,
  BATCH_SIZE_BUCKETS,
  type InferenceMetrics,
  type RegistryMetrics,
  type MonitorMetrics,
  type TelemetryMetrics,
  type MetricGroups,
} from './metrics.js';
export { METRICS, type MetricKey } from './metric-names.js';
export { startMetricsServer, type MetricsServer } from './metrics-server.js';
export { addTelemetryOptions, parseTelemetryFlags, type TelemetryFlags, type TelemetryFlagOptions } from './telemetry-flags.js';
export {
  injectIntoMetadata,
  extractFromMetadata,
  injectIntoHeaders,
  extractFromHeaders,
  traceIdOf,
  TRACEPARENT_HEADER,
  type HeaderCarrier,
} from './propagation.js';
export {
  startServerSpan,
  endRpcSpan,
  withServerSpan,
  withClientSpan,
  traceUnaryHandler,
  rpcAttributes,
  grpcStatusCodeOf,
} from './rpc-spans.js';
export { withPublishSpan, withConsumeSpan } from './messaging-spans.js';
export { startHttpServerSpan, endHttpSpan, type HttpRequestInfo } from './http-spans.js';
export {
  setClientAttribute,
  setClientAttributes,
  clientAttributes,
  recordSpanError,
  MAX_CLIENT_ATTRIBUTE_CHARS,
  CLIPPED_MARKER,
} from './client-attributes.js';
export {
  ATTR_MODEL_NAME,
  ATTR_MODEL_VERSION,
  ATTR_BATCH_SIZE,
  ATTR_DEVICE,
  ATTR_INSTANCE,
  ATTR_NODE_ID,
  ATTR_FORWARD_PEER,
  ATTR_QUEUE_PRIORITY,
  ATTR_RPC_SYSTEM,
  ATTR_RPC_SERVICE,
  ATTR_RPC_METHOD,
  ATTR_RPC_GRPC_STATUS_CODE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_MESSAGING_DESTINATION,
  SPAN_NAMES,
} from './attributes.js';
