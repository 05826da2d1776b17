export { createVersionInstruments, type InferenceTelemetry, type VersionInstruments } from './inference-telemetry.js';
export { createRequestTracing, RequestTracing, type RequestTrace } from './request-tracing.js';
