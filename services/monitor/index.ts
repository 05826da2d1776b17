export { startMonitor, DEFAULT_MONITOR_OPTIONS, type Monitor, type MonitorOptions } from './monitor.js';
export { createSpanStore, decodeExport, type SpanStore, type SpanStoreOptions, type SpanRecord, type TraceQuery } from './store/index.js';
