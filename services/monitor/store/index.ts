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
export { decodeExport, attributeMap, type DecodedExport, type RejectReason, type SpanRejection } from './otlp-decode.js';
export {
  SPAN_KIND_NAMES,
  STATUS_CODE_NAMES,
  type SpanRecord,
  type SpanEventRecord,
  type SpanLinkRecord,
  type AttributeMap,
  type AttributeValue,
  type SpanKindName,
  type StatusCodeName,
} from './span-record.js';
