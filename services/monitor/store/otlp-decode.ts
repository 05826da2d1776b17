import type { AnyValue__Output } from '../../../shared/generated/opentelemetry/proto/common/v1/AnyValue.js';
import type { KeyValue__Output } from '../../../shared/generated/opentelemetry/proto/common/v1/KeyValue.js';
import type { ExportTraceServiceRequest__Output } from '../../../shared/generated/opentelemetry/proto/collector/trace/v1/ExportTraceServiceRequest.js';
import type { Span__Output } from '../../../shared/generated/opentelemetry/proto/trace/v1/Span.js';
import {
  SPAN_KIND_NAMES,
  STATUS_CODE_NAMES,
  type AttributeMap,
  type AttributeValue,
  type SpanKindName,
  type SpanRecord,
  type StatusCodeName,
} from './span-record.js';

/** Why a span was rejected; the label of `infermesh_monitor_spans_rejected_total`. */
export type RejectReason = 'trace_id' | 'span_id' | 'parent_span_id' | 'timestamps' | 'link_id';

export interface SpanRejection {
  reason: RejectReason;
  message: string;
}

/** The spans of one OTLP export: those that are valid, and why the others are not. */
export interface DecodedExport {
  spans: SpanRecord[];
  rejected: SpanRejection[];
}

/** Attribute values longer than this many characters are cut (a span is not a blob store). */
const MAX_ATTRIBUTE_CHARS = 4096;

function isAllZero(b: Buffer): boolean {
  for (const byte of b) if (byte !== 0) return false;
  return true;
}

function validId(b: Buffer | undefined, length: number): boolean {
  return b !== undefined && b.length === length && !isAllZero(b);
}

function plainValue(v: AnyValue__Output | null | undefined): unknown {
  if (!v || !v.value) return null;
  switch (v.value) {
    case 'stringValue':
      return v.stringValue ?? '';
    case 'boolValue':
      return v.boolValue ?? false;
    case 'intValue':
      return Number(v.intValue);
    case 'doubleValue':
      return v.doubleValue ?? 0;
    case 'bytesValue':
      return (v.bytesValue ?? Buffer.alloc(0)).toString('base64');
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map(plainValue);
    case 'kvlistValue':
      return Object.fromEntries((v.kvlistValue?.values ?? []).map((kv) => [kv.key, plainValue(kv.value)]));
  }
}

function attributeValue(v: AnyValue__Output | null | undefined): AttributeValue {
  let result: AttributeValue;
  switch (v?.value) {
    case 'stringValue':
      result = { value: v.stringValue ?? '', type: 'string' };
      break;
    case 'boolValue':
      result = { value: String(v.boolValue ?? false), type: 'bool' };
      break;
    case 'intValue':
      result = { value: String(v.intValue ?? '0'), type: 'int' };
      break;
    case 'doubleValue':
      result = { value: String(v.doubleValue ?? 0), type: 'double' };
      break;
    case 'bytesValue':
      result = { value: (v.bytesValue ?? Buffer.alloc(0)).toString('base64'), type: 'bytes' };
      break;
    case 'arrayValue':
      result = { value: JSON.stringify(plainValue(v)), type: 'array' };
      break;
    case 'kvlistValue':
      result = { value: JSON.stringify(plainValue(v)), type: 'kvlist' };
      break;
    default:
      result = { value: '', type: 'empty' };
  }
  if (result.value.length > MAX_ATTRIBUTE_CHARS) result.value = result.value.slice(0, MAX_ATTRIBUTE_CHARS) + '…';
  return result;
}

/** OTLP key/values to the monitor's attribute map (a repeated key keeps its last value). */
export function attributeMap(list: readonly KeyValue__Output[] | undefined): AttributeMap {
  const map: AttributeMap = {};
  for (const kv of list ?? []) map[kv.key] = attributeValue(kv.value);
  return map;
}

function kindName(kind: string | number): SpanKindName {
  if (typeof kind === 'number') return SPAN_KIND_NAMES[kind] ?? 'UNSPECIFIED';
  const name = kind.replace(/^SPAN_KIND_/, '');
  return (SPAN_KIND_NAMES as readonly string[]).includes(name) ? (name as SpanKindName) : 'UNSPECIFIED';
}

function statusName(code: string | number | undefined): StatusCodeName {
  if (typeof code === 'number') return STATUS_CODE_NAMES[code] ?? 'UNSET';
  const name = (code ?? '').replace(/^STATUS_CODE_/, '');
  return (STATUS_CODE_NAMES as readonly string[]).includes(name) ? (name as StatusCodeName) : 'UNSET';
}

function decodeSpan(span: Span__Output, service: string, resource: AttributeMap, scopeName: string): SpanRecord | SpanRejection {
  const where = `span "${span.name}"`;
  if (!validId(span.traceId, 16)) {
    return { reason: 'trace_id', message: `${where}: trace_id must be 16 bytes, not all zero (got ${span.traceId?.length ?? 0} bytes)` };
  }
  if (!validId(span.spanId, 8)) {
    return { reason: 'span_id', message: `${where}: span_id must be 8 bytes, not all zero (got ${span.spanId?.length ?? 0} bytes)` };
  }
  if (span.parentSpanId.length !== 0 && !validId(span.parentSpanId, 8)) {
    return { reason: 'parent_span_id', message: `${where}: parent_span_id must be empty or 8 bytes (got ${span.parentSpanId.length})` };
  }
  const startNs = BigInt(span.startTimeUnixNano || '0');
  const endNs = BigInt(span.endTimeUnixNano || '0');
  if (startNs === 0n || endNs < startNs) {
    return { reason: 'timestamps', message: `${where}: needs start_time_unix_nano > 0 and end_time_unix_nano >= start (got ${startNs}..${endNs})` };
  }
  for (const link of span.links) {
    if (!validId(link.traceId, 16) || !validId(link.spanId, 8)) {
      return { reason: 'link_id', message: `${where}: a link needs a 16-byte trace_id and an 8-byte span_id` };
    }
  }
  return {
    traceId: span.traceId.toString('hex'),
    spanId: span.spanId.toString('hex'),
    parentSpanId: span.parentSpanId.toString('hex'),
    name: span.name,
    kind: kindName(span.kind),
    service,
    startNs,
    endNs,
    statusCode: statusName(span.status?.code),
    statusMessage: span.status?.message ?? '',
    attributes: attributeMap(span.attributes),
    events: span.events.map((e) => ({ timeNs: BigInt(e.timeUnixNano || '0'), name: e.name, attributes: attributeMap(e.attributes) })),
    links: span.links.map((l) => ({ traceId: l.traceId.toString('hex'), spanId: l.spanId.toString('hex'), attributes: attributeMap(l.attributes) })),
    resource,
    scopeName,
  };
}

/**
 * Validates and converts one OTLP export. A span is rejected (and named in
 * `rejected`) for missing or wrongly sized ids, all-zero ids, a start time of
 * zero or an end before its start, or a link without valid ids.
 */
export function decodeExport(request: ExportTraceServiceRequest__Output): DecodedExport {
  const result: DecodedExport = { spans: [], rejected: [] };
  for (const resourceSpans of request.resourceSpans) {
    const resource = attributeMap(resourceSpans.resource?.attributes);
    const service = resource['service.name']?.value || 'unknown_service';
    for (const scopeSpans of resourceSpans.scopeSpans) {
      const scopeName = scopeSpans.scope?.name ?? '';
      for (const span of scopeSpans.spans) {
        const decoded = decodeSpan(span, service, resource, scopeName);
        if ('reason' in decoded) result.rejected.push(decoded);
        else result.spans.push(decoded);
      }
    }
  }
  return result;
}
