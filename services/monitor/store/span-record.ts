/**
 * The monitor's own form of a span, independent of OTLP and of the query API:
 * ids in lowercase hex, times in nanoseconds since the epoch, attribute values
 * as text with their OTLP type.
 */

/** An attribute value as text (`"3"`, `"true"`, arrays and lists as JSON) and its OTLP type. */
export interface AttributeValue {
  value: string;
  type: 'string' | 'int' | 'double' | 'bool' | 'bytes' | 'array' | 'kvlist' | 'empty';
}

/** Attributes by key, in the order they arrived. */
export type AttributeMap = Record<string, AttributeValue>;

export interface SpanEventRecord {
  timeNs: bigint;
  name: string;
  attributes: AttributeMap;
}

export interface SpanLinkRecord {
  traceId: string;
  spanId: string;
  attributes: AttributeMap;
}

/** Span kinds by their OTLP number. */
export const SPAN_KIND_NAMES = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
export type SpanKindName = (typeof SPAN_KIND_NAMES)[number];

/** Status codes by their OTLP number. */
export const STATUS_CODE_NAMES = ['UNSET', 'OK', 'ERROR'] as const;
export type StatusCodeName = (typeof STATUS_CODE_NAMES)[number];

export interface SpanRecord {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  kind: SpanKindName;
  /** The resource's `service.name` (`unknown_service` when missing). */
  service: string;
  startNs: bigint;
  endNs: bigint;
  statusCode: StatusCodeName;
  statusMessage: string;
  attributes: AttributeMap;
  events: SpanEventRecord[];
  links: SpanLinkRecord[];
  resource: AttributeMap;
  scopeName: string;
}
