export { createVersionInstruments, isSampledContext, type InferenceTelemetry, type VersionInstruments } from './inference-telemetry.js';
