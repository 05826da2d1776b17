import { invalidArgument } from '../../../shared/errors/index.js';
import type { Attribute } from '../../../shared/generated/infermesh/monitor/v1/Attribute.js';
import type { ModelStats } from '../../../shared/generated/infermesh/monitor/v1/ModelStats.js';
import type { SearchTracesRequest__Output } from '../../../shared/generated/infermesh/monitor/v1/SearchTracesRequest.js';
import type { Span } from '../../../shared/generated/infermesh/monitor/v1/Span.js';
import type { SpanLink } from '../../../shared/generated/infermesh/monitor/v1/SpanLink.js';
import type { TraceSummary } from '../../../shared/generated/infermesh/monitor/v1/TraceSummary.js';
import type { AttributeMap, ModelStatsRecord, ResolvedLink, TraceDetail, TraceQuery, TraceSummaryRecord } from '../store/index.js';

/**
 * Conversions between the span store's records and the Monitor API's
 * messages. The gRPC API and the web page's JSON API return the same shapes
 * (camelCase fields, 64-bit integers as decimal strings), so both use these.
 */

const TRACE_ID = /^[0-9a-f]{32}$/;

/** Validates a trace id (32 hex digits, any case) and returns it in lowercase. */
export function parseTraceId(id: string): string {
  const lower = id.trim().toLowerCase();
  if (!TRACE_ID.test(lower)) throw invalidArgument(`trace_id must be 32 hex digits, got "${id}"`);
  return lower;
}

/** The store query for a SearchTraces request, validated. */
export function traceQueryFrom(req: Partial<SearchTracesRequest__Output>): TraceQuery {
  const minDurationMs = Number(req.minDurationMs ?? 0);
  if (!Number.isFinite(minDurationMs) || minDurationMs < 0) throw invalidArgument(`min_duration_ms must be a number >= 0, got ${req.minDurationMs}`);
  const limit = Number(req.limit ?? 0);
  if (!Number.isInteger(limit) || limit < 0) throw invalidArgument(`limit must be a whole number >= 0, got ${req.limit}`);
  const nanos = (value: string | undefined, field: string): bigint | undefined => {
    if (value === undefined || value === '' || value === '0') return undefined;
    if (!/^\d+$/.test(value)) throw invalidArgument(`${field} must be nanoseconds since the epoch, got "${value}"`);
    return BigInt(value);
  };
  for (const a of req.attributes ?? []) {
    if (!a.key) throw invalidArgument('an attribute filter needs a key (key=value)');
  }
  return {
    service: req.service || undefined,
    operation: req.operation || undefined,
    model: req.model || undefined,
    version: req.version || undefined,
    status: req.status === 'STATUS_FILTER_ERROR' ? 'error' : req.status === 'STATUS_FILTER_OK' ? 'ok' : undefined,
    minDurationNs: BigInt(Math.round(minDurationMs * 1e6)),
    startNs: nanos(req.startTimeUnixNano, 'start_time_unix_nano'),
    endNs: nanos(req.endTimeUnixNano, 'end_time_unix_nano'),
    attributes: (req.attributes ?? []).map((a) => ({ key: a.key, value: a.value })),
    order: req.order === 'TRACE_ORDER_SLOWEST' ? 'slowest' : 'newest',
    limit: limit || undefined,
  };
}

export function attributeList(map: AttributeMap): Attribute[] {
  return Object.entries(map).map(([key, v]) => ({ key, value: v.value, type: v.type }));
}

export function traceSummaryView(t: TraceSummaryRecord): TraceSummary {
  return {
    traceId: t.traceId,
    rootService: t.rootService,
    rootName: t.rootName,
    startTimeUnixNano: t.startNs.toString(),
    durationNano: t.durationNs.toString(),
    spanCount: t.spanCount,
    errorCount: t.errorCount,
    services: t.services,
  };
}

function linkView(l: ResolvedLink): SpanLink {
  return { traceId: l.traceId, spanId: l.spanId, attributes: attributeList(l.attributes), name: l.name, service: l.service };
}

export function traceSpansView(detail: TraceDetail): Span[] {
  return detail.spans.map((s) => ({
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    name: s.name,
    kind: s.kind,
    service: s.service,
    startTimeUnixNano: s.startNs.toString(),
    endTimeUnixNano: s.endNs.toString(),
    durationNano: (s.endNs - s.startNs).toString(),
    statusCode: s.statusCode,
    statusMessage: s.statusMessage,
    attributes: attributeList(s.attributes),
    events: s.events.map((e) => ({ timeUnixNano: e.timeNs.toString(), name: e.name, attributes: attributeList(e.attributes) })),
    links: s.resolvedLinks.map(linkView),
    linkedFrom: s.linkedFrom.map(linkView),
    resource: attributeList(s.resource),
    scopeName: s.scopeName,
  }));
}

export function modelStatsView(m: ModelStatsRecord): ModelStats {
  return {
    model: m.model,
    version: m.version,
    requests: String(m.requests),
    errors: String(m.errors),
    requestsPerSecond: m.requestsPerSecond,
    errorRate: m.errorRate,
    p50Ms: m.p50Ms,
    p99Ms: m.p99Ms,
    requestsPerMinute: m.requestsPerMinute.map(String),
  };
}

/** Default and largest ModelOverview window, in minutes. */
export const DEFAULT_OVERVIEW_MINUTES = 15;
export const MAX_OVERVIEW_MINUTES = 1440;

export function overviewMinutes(value: number | undefined): number {
  const minutes = Number(value ?? 0) || DEFAULT_OVERVIEW_MINUTES;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_OVERVIEW_MINUTES) {
    throw invalidArgument(`window_minutes must be a whole number from 1 to ${MAX_OVERVIEW_MINUTES}, got ${value}`);
  }
  return minutes;
}
