export { activeTraceparent, withSpan, REGISTRY_SPAN_NAMES, type RegistryTelemetry } from './registry-telemetry.js';
