export { startMonitor, DEFAULT_MONITOR_OPTIONS, type Monitor, type MonitorOptions } from './monitor.js';
export { createSpanStore, decodeExport, type SpanStore, type SpanStoreOptions, type SpanRecord, type TraceQuery } from './store/index.js';
export {
  createHealthEngine,
  createHealthStore,
  parseAlertRules,
  readAlertRulesFile,
  DEFAULT_ALERT_RULES,
  DEFAULT_HEALTH_ENGINE_OPTIONS,
  type HealthEngine,
  type HealthStore,
  type AlertRulesConfig,
  type VersionHealthView,
} from './health/index.js';
