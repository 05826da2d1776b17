import type { Database as DatabaseType, Statement } from 'better-sqlite3';
import { invalidArgument } from '../../../shared/errors/index.js';
import type { AttributeMap, SpanEventRecord, SpanLinkRecord, SpanRecord } from './span-record.js';

// The span store's reads, over any better-sqlite3 connection to its schema:
// the store's own (synchronous calls) and the read-only one of its query
// worker (span-query-worker.ts), so that the loop receiving OTLP exports
// never runs them. Every read is bounded: searches by MAX_LIMIT traces, a
// trace by MAX_TRACE_SPANS spans, the overview aggregated in SQLite (a
// fixed number of rows per model version, whatever the window holds).

/** Search filters; every filter applies to one and the same span of a trace. */
export interface TraceQuery {
  service?: string;
  operation?: string;
  model?: string;
  version?: string;
  status?: 'ok' | 'error';
  minDurationNs?: bigint;
  /** Trace start range, ns since the epoch. */
  startNs?: bigint;
  endNs?: bigint;
  attributes?: ReadonlyArray<{ key: string; value: string }>;
  order?: 'newest' | 'slowest';
  limit?: number;
}

export interface TraceSummaryRecord {
  traceId: string;
  rootService: string;
  rootName: string;
  startNs: bigint;
  durationNs: bigint;
  spanCount: number;
  errorCount: number;
  services: string[];
}

/** A link resolved against the store: the linked span's name and service when known. */
export interface ResolvedLink extends SpanLinkRecord {
  name: string;
  service: string;
}

export interface TraceDetail {
  /** Oldest first, at most MAX_TRACE_SPANS of them. */
  spans: Array<SpanRecord & { resolvedLinks: ResolvedLink[]; linkedFrom: ResolvedLink[] }>;
  /** Set when the trace holds more than MAX_TRACE_SPANS spans: only the first are given. */
  truncated?: true;
}

export interface ModelStatsRecord {
  model: string;
  version: string;
  requests: number;
  errors: number;
  requestsPerSecond: number;
  errorRate: number;
  p50Ms: number;
  p99Ms: number;
  requestsPerMinute: number[];
}

interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  name: string;
  kind: string;
  service: string;
  start_ns: bigint;
  end_ns: bigint;
  status_code: string;
  status_message: string;
  attributes: string;
  events: string;
  links: string;
  resource: string;
  scope_name: string;
}

interface TraceRow {
  trace_id: string;
  start_ns: bigint;
  duration_ns: bigint;
  span_count: bigint;
  error_count: bigint;
  root_service: string;
  root_name: string;
}

/** Most traces one search returns. */
export const MAX_LIMIT = 1000;
/** Most spans {@link SpanQueries.getTrace} returns of one trace. */
export const MAX_TRACE_SPANS = 10_000;
/** Longest attribute key a search filters on. */
const MAX_ATTRIBUTE_KEY_CHARS = 256;
const DEFAULT_LIMIT = 20;

/** A JSON path for one attribute key (keys are quoted, so dots in them are literal). */
export function attributePath(key: string): string {
  // SQLite's JSON path parser rejects control characters (a NUL ends the path): refuse them as bad input, not a failed query.
  if (/[\u0000-\u001f\u007f]/.test(key)) throw invalidArgument(`attribute key ${JSON.stringify(key)} contains a control character`);
  if (key.length > MAX_ATTRIBUTE_KEY_CHARS) throw invalidArgument(`attribute key is ${key.length} characters; at most ${MAX_ATTRIBUTE_KEY_CHARS}`);
  return `$."${key.replace(/["\\]/g, (c) => '\\' + c)}".value`;
}

/** Checks a query's bad input (a clear INVALID_ARGUMENT) before it is run anywhere. */
export function checkTraceQuery(query: TraceQuery): void {
  for (const a of query.attributes ?? []) attributePath(a.key);
}

/** The reads a span store answers; `nowMs` is the store's clock, passed in so that a worker answers as the store would. */
export interface SpanQueries {
  search(query: TraceQuery): TraceSummaryRecord[];
  getTrace(traceId: string): TraceDetail | undefined;
  listServices(): string[];
  listOperations(service?: string): string[];
  modelOverview(windowMinutes: number, nowMs: number): ModelStatsRecord[];
}

/** Nearest-rank percentile index of `p` among `n` sorted values. */
function percentileRank(n: number, p: number): number {
  return Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1));
}

export function createSpanQueries(db: DatabaseType): SpanQueries {
  const traceSpans = db.prepare<[string, number], SpanRow>('SELECT * FROM spans WHERE trace_id = ? ORDER BY start_ns, span_id LIMIT ?');
  const spanName = db.prepare<[string, string], { name: string; service: string }>('SELECT name, service FROM spans WHERE trace_id = ? AND span_id = ?');
  const linksTo = db.prepare<[string], { trace_id: string; span_id: string; linked_span_id: string; name: string | null; service: string | null }>(
    `SELECT l.trace_id, l.span_id, l.linked_span_id, s.name, s.service FROM span_links l
     LEFT JOIN spans s ON s.trace_id = l.trace_id AND s.span_id = l.span_id WHERE l.linked_trace_id = ?`,
  );
  const overviewGroups = db.prepare<[bigint], { model: string; version: string; requests: bigint; errors: bigint }>(
    `SELECT model, coalesce(version, '') AS version, count(*) AS requests, sum(status_code = 'ERROR') AS errors FROM spans
     WHERE model IS NOT NULL AND kind = 'SERVER' AND start_ns >= ? GROUP BY model, coalesce(version, '') ORDER BY model, version`,
  );
  const overviewMinutes = db.prepare<[bigint, bigint, string, string], { bucket: bigint; n: bigint }>(
    `SELECT (start_ns / 1000000 - ?) / 60000 AS bucket, count(*) AS n FROM spans
     WHERE start_ns >= ? AND model = ? AND coalesce(version, '') = ? AND kind = 'SERVER' GROUP BY bucket`,
  );
  const overviewDurationAt = db.prepare<[bigint, string, string, number], { duration_ns: bigint }>(
    `SELECT duration_ns FROM spans WHERE start_ns >= ? AND model = ? AND coalesce(version, '') = ? AND kind = 'SERVER'
     ORDER BY duration_ns LIMIT 1 OFFSET ?`,
  );
  const searchCache = new Map<string, Statement>();

  function toRecord(row: SpanRow): SpanRecord {
    const events = (JSON.parse(row.events) as Array<Omit<SpanEventRecord, 'timeNs'> & { timeNs: string }>).map((e) => ({
      ...e,
      timeNs: BigInt(e.timeNs),
    }));
    return {
      traceId: row.trace_id,
      spanId: row.span_id,
      parentSpanId: row.parent_span_id,
      name: row.name,
      kind: row.kind as SpanRecord['kind'],
      service: row.service,
      startNs: row.start_ns,
      endNs: row.end_ns,
      statusCode: row.status_code as SpanRecord['statusCode'],
      statusMessage: row.status_message,
      attributes: JSON.parse(row.attributes) as AttributeMap,
      events,
      links: JSON.parse(row.links) as SpanLinkRecord[],
      resource: JSON.parse(row.resource) as AttributeMap,
      scopeName: row.scope_name,
    };
  }

  const servicesOf = (ids: readonly string[]): Map<string, string[]> => {
    const map = new Map<string, string[]>();
    if (ids.length === 0) return map;
    const rows = db
      .prepare(`SELECT DISTINCT trace_id, service FROM spans WHERE trace_id IN (${ids.map(() => '?').join(',')}) ORDER BY service`)
      .all(...ids) as Array<{ trace_id: string; service: string }>;
    for (const r of rows) {
      const list = map.get(r.trace_id) ?? [];
      list.push(r.service);
      map.set(r.trace_id, list);
    }
    return map;
  };

  return {
    search(query) {
      const spanConditions: string[] = [];
      const params: unknown[] = [];
      const add = (sql: string, ...values: unknown[]) => {
        spanConditions.push(sql);
        params.push(...values);
      };
      if (query.service) add('s.service = ?', query.service);
      if (query.operation) add('s.name = ?', query.operation);
      if (query.model) add('s.model = ?', query.model);
      if (query.version) add('s.version = ?', query.version);
      if (query.status === 'error') add("s.status_code = 'ERROR'");
      if (query.status === 'ok') add("s.status_code <> 'ERROR'");
      if (query.minDurationNs && query.minDurationNs > 0n) add('s.duration_ns >= ?', query.minDurationNs);
      for (const a of query.attributes ?? []) add('json_extract(s.attributes, ?) = ?', attributePath(a.key), a.value);
      const traceConditions: string[] = [];
      const traceParams: unknown[] = [];
      if (query.startNs && query.startNs > 0n) {
        traceConditions.push('t.start_ns >= ?');
        traceParams.push(query.startNs);
      }
      if (query.endNs && query.endNs > 0n) {
        traceConditions.push('t.start_ns <= ?');
        traceParams.push(query.endNs);
      }
      if (spanConditions.length > 0) {
        traceConditions.push(`t.trace_id IN (SELECT s.trace_id FROM spans s WHERE ${spanConditions.join(' AND ')})`);
      }
      const order = query.order === 'slowest' ? 't.duration_ns DESC' : 't.start_ns DESC';
      const sql = `SELECT t.* FROM traces t ${traceConditions.length ? 'WHERE ' + traceConditions.join(' AND ') : ''} ORDER BY ${order} LIMIT ?`;
      let stmt = searchCache.get(sql);
      if (!stmt) {
        stmt = db.prepare(sql);
        if (searchCache.size < 256) searchCache.set(sql, stmt);
      }
      const limit = Math.min(MAX_LIMIT, Math.max(1, query.limit || DEFAULT_LIMIT));
      const rows = stmt.all(...traceParams, ...params, limit) as TraceRow[];
      const services = servicesOf(rows.map((r) => r.trace_id));
      return rows.map((r) => ({
        traceId: r.trace_id,
        rootService: r.root_service,
        rootName: r.root_name,
        startNs: r.start_ns,
        durationNs: r.duration_ns,
        spanCount: Number(r.span_count),
        errorCount: Number(r.error_count),
        services: services.get(r.trace_id) ?? [],
      }));
    },

    getTrace(traceId) {
      const id = traceId.toLowerCase();
      const rows = traceSpans.all(id, MAX_TRACE_SPANS + 1);
      if (rows.length === 0) return undefined;
      const truncated = rows.length > MAX_TRACE_SPANS;
      if (truncated) rows.length = MAX_TRACE_SPANS;
      const linkedFrom = new Map<string, ResolvedLink[]>();
      for (const l of linksTo.all(id)) {
        const list = linkedFrom.get(l.linked_span_id) ?? [];
        list.push({ traceId: l.trace_id, spanId: l.span_id, attributes: {}, name: l.name ?? '', service: l.service ?? '' });
        linkedFrom.set(l.linked_span_id, list);
      }
      return {
        spans: rows.map((row) => {
          const record = toRecord(row);
          const resolvedLinks = record.links.map((link) => {
            const target = spanName.get(link.traceId, link.spanId);
            return { ...link, name: target?.name ?? '', service: target?.service ?? '' };
          });
          return { ...record, resolvedLinks, linkedFrom: linkedFrom.get(record.spanId) ?? [] };
        }),
        ...(truncated ? { truncated: true as const } : {}),
      };
    },

    listServices() {
      return (db.prepare('SELECT DISTINCT service FROM spans ORDER BY service').all() as Array<{ service: string }>).map((r) => r.service);
    },

    listOperations(service) {
      const rows = service
        ? db.prepare('SELECT DISTINCT name FROM spans WHERE service = ? ORDER BY name').all(service)
        : db.prepare('SELECT DISTINCT name FROM spans ORDER BY name').all();
      return (rows as Array<{ name: string }>).map((r) => r.name);
    },

    modelOverview(windowMinutes, nowMs) {
      const minutes = Math.max(1, Math.min(1440, Math.floor(windowMinutes)));
      const startMs = nowMs - minutes * 60_000;
      const startNs = BigInt(Math.floor(startMs)) * 1_000_000n;
      const startMsInt = BigInt(Math.floor(startMs));
      return overviewGroups.all(startNs).map((g) => {
        const requests = Number(g.requests);
        const errors = Number(g.errors);
        const perMinute = new Array<number>(minutes).fill(0);
        for (const b of overviewMinutes.all(startMsInt, startNs, g.model, g.version)) {
          perMinute[Math.min(minutes - 1, Math.max(0, Number(b.bucket)))]! += Number(b.n);
        }
        const at = (p: number) => Number(overviewDurationAt.get(startNs, g.model, g.version, percentileRank(requests, p))?.duration_ns ?? 0n) / 1e6;
        return {
          model: g.model,
          version: g.version,
          requests,
          errors,
          requestsPerSecond: requests / (minutes * 60),
          errorRate: errors / requests,
          p50Ms: at(0.5),
          p99Ms: at(0.99),
          requestsPerMinute: perMinute,
        };
      });
    },
  };
}
