export {
  createSpanStore,
  DEFAULT_SPAN_STORE_OPTIONS,
  type SpanStore,
  type SpanStoreOptions,
  type TraceQuery,
  type TraceSummaryRecord,
  type TraceDetail,
  type ResolvedLink,
  type ModelStatsRecord,
} from './span-store.js';
export { decodeExport } from './otlp-decode.js';
export { type AttributeMap } from './span-record.js';
