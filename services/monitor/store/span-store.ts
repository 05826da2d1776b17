import Database, { type Database as DatabaseType, type Statement } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../../shared/errors/index.js';
import { silentLogger, type Logger } from '../../../shared/logging/index.js';
import type { MonitorMetrics } from '../../../shared/telemetry/index.js';
import { ATTR_MODEL_NAME, ATTR_MODEL_VERSION } from '../../../shared/telemetry/index.js';
import type { AttributeMap, SpanEventRecord, SpanLinkRecord, SpanRecord } from './span-record.js';

/** Defaults of {@link SpanStoreOptions}. */
export const DEFAULT_SPAN_STORE_OPTIONS = {
  maxAgeMs: 24 * 60 * 60 * 1000,
  maxSpans: 1_000_000,
  maxBytes: 512 * 1024 * 1024,
  pruneIntervalMs: 60_000,
} as const;

export interface SpanStoreOptions {
  /** Folder of the SQLite file `spans.sqlite`; undefined keeps the store in memory. */
  dataDir?: string;
  /** Traces that started longer ago than this are pruned. Default 24 h. */
  maxAgeMs?: number;
  /** At most this many spans are kept; the oldest traces go first. Default 1,000,000. */
  maxSpans?: number;
  /** At most about this many bytes of span data are kept. Default 512 MiB. */
  maxBytes?: number;
  /** How often retention runs, in ms (an unref'd timer; 0 = only when `prune()` is called). Default 60 s. */
  pruneIntervalMs?: number;
  /** Wall clock in ms since the epoch. Default Date.now. */
  now?: () => number;
  logger?: Logger;
  metrics?: MonitorMetrics;
}

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
  spans: Array<SpanRecord & { resolvedLinks: ResolvedLink[]; linkedFrom: ResolvedLink[] }>;
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

export interface SpanStore {
  /** Stores spans (a span already held, by trace and span id, is ignored). Returns how many were new. */
  insert(spans: readonly SpanRecord[]): number;
  search(query: TraceQuery): TraceSummaryRecord[];
  /** Every span of a trace, oldest first; undefined when none is held. */
  getTrace(traceId: string): TraceDetail | undefined;
  listServices(): string[];
  listOperations(service?: string): string[];
  /** Per model and version, from SERVER spans carrying infermesh.model.name/version that started in the window. */
  modelOverview(windowMinutes: number): ModelStatsRecord[];
  /** Applies retention now. Returns how many spans it removed, by reason. */
  prune(): { age: number; size: number };
  /** Spans and approximate bytes held. */
  size(): { spans: number; bytes: number };
  /** Stops the prune timer and closes the database. Idempotent. */
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS spans (
  trace_id TEXT NOT NULL,
  span_id TEXT NOT NULL,
  parent_span_id TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  service TEXT NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  duration_ns INTEGER NOT NULL,
  status_code TEXT NOT NULL,
  status_message TEXT NOT NULL,
  model TEXT,
  version TEXT,
  attributes TEXT NOT NULL,
  events TEXT NOT NULL,
  links TEXT NOT NULL,
  resource TEXT NOT NULL,
  scope_name TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  PRIMARY KEY (trace_id, span_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS spans_service_name ON spans (service, name);
CREATE INDEX IF NOT EXISTS spans_name ON spans (name);
CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ns);
CREATE INDEX IF NOT EXISTS spans_duration ON spans (duration_ns);
CREATE INDEX IF NOT EXISTS spans_error ON spans (status_code) WHERE status_code = 'ERROR';
CREATE INDEX IF NOT EXISTS spans_model ON spans (model, version, start_ns) WHERE model IS NOT NULL;
CREATE TABLE IF NOT EXISTS traces (
  trace_id TEXT PRIMARY KEY,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  duration_ns INTEGER NOT NULL,
  span_count INTEGER NOT NULL,
  error_count INTEGER NOT NULL,
  size_bytes INTEGER NOT NULL,
  root_service TEXT NOT NULL,
  root_name TEXT NOT NULL,
  root_is_root INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS traces_start ON traces (start_ns);
CREATE INDEX IF NOT EXISTS traces_duration ON traces (duration_ns);
CREATE TABLE IF NOT EXISTS span_links (
  trace_id TEXT NOT NULL,
  span_id TEXT NOT NULL,
  linked_trace_id TEXT NOT NULL,
  linked_span_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS span_links_from ON span_links (trace_id);
CREATE INDEX IF NOT EXISTS span_links_to ON span_links (linked_trace_id, linked_span_id);
`;

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

const MAX_LIMIT = 1000;
/** Longest attribute key a search filters on. */
const MAX_ATTRIBUTE_KEY_CHARS = 256;
const DEFAULT_LIMIT = 20;

/** A JSON path for one attribute key (keys are quoted, so dots in them are literal). */
function attributePath(key: string): string {
  // SQLite's JSON path parser rejects control characters (a NUL ends the path): refuse them as bad input, not a failed query.
  if (/[\u0000-\u001f\u007f]/.test(key)) throw invalidArgument(`attribute key ${JSON.stringify(key)} contains a control character`);
  if (key.length > MAX_ATTRIBUTE_KEY_CHARS) throw invalidArgument(`attribute key is ${key.length} characters; at most ${MAX_ATTRIBUTE_KEY_CHARS}`);
  return `$."${key.replace(/["\\]/g, (c) => '\\' + c)}".value`;
}

function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return 0;
  const rank = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil(p * sortedMs.length) - 1));
  return sortedMs[rank]!;
}

/**
 * The monitor's span store: SQLite (better-sqlite3) with one row per span, a
 * per-trace summary row kept up to date on insert, and a link table indexed
 * both ways so that a request span finds the batch that served it. Retention
 * drops whole traces, oldest first, by age and by size.
 */
export function createSpanStore(options: SpanStoreOptions = {}): SpanStore {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_SPAN_STORE_OPTIONS.maxAgeMs;
  const maxSpans = options.maxSpans ?? DEFAULT_SPAN_STORE_OPTIONS.maxSpans;
  const maxBytes = options.maxBytes ?? DEFAULT_SPAN_STORE_OPTIONS.maxBytes;
  const pruneIntervalMs = options.pruneIntervalMs ?? DEFAULT_SPAN_STORE_OPTIONS.pruneIntervalMs;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? silentLogger;
  const metrics = options.metrics;

  let db: DatabaseType;
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    db = new Database(join(options.dataDir, 'spans.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  } else {
    db = new Database(':memory:');
  }
  db.exec(SCHEMA);
  db.defaultSafeIntegers(true);

  const insertSpan = db.prepare(`INSERT OR IGNORE INTO spans VALUES (
    @trace_id, @span_id, @parent_span_id, @name, @kind, @service, @start_ns, @end_ns, @duration_ns, @status_code,
    @status_message, @model, @version, @attributes, @events, @links, @resource, @scope_name, @size_bytes)`);
  const upsertTrace = db.prepare(`INSERT INTO traces VALUES (
      @trace_id, @start_ns, @end_ns, @duration_ns, 1, @error, @size_bytes, @service, @name, @is_root)
    ON CONFLICT (trace_id) DO UPDATE SET
      root_service = CASE WHEN excluded.root_is_root = 1 OR (root_is_root = 0 AND excluded.start_ns < start_ns) THEN excluded.root_service ELSE root_service END,
      root_name = CASE WHEN excluded.root_is_root = 1 OR (root_is_root = 0 AND excluded.start_ns < start_ns) THEN excluded.root_name ELSE root_name END,
      root_is_root = max(root_is_root, excluded.root_is_root),
      duration_ns = max(end_ns, excluded.end_ns) - min(start_ns, excluded.start_ns),
      start_ns = min(start_ns, excluded.start_ns),
      end_ns = max(end_ns, excluded.end_ns),
      span_count = span_count + 1,
      error_count = error_count + excluded.error_count,
      size_bytes = size_bytes + excluded.size_bytes`);
  const insertLink = db.prepare('INSERT INTO span_links VALUES (?, ?, ?, ?)');
  const traceSpans = db.prepare<[string], SpanRow>('SELECT * FROM spans WHERE trace_id = ? ORDER BY start_ns, span_id');
  const spanName = db.prepare<[string, string], { name: string; service: string }>('SELECT name, service FROM spans WHERE trace_id = ? AND span_id = ?');
  const linksTo = db.prepare<[string], { trace_id: string; span_id: string; linked_span_id: string; name: string | null; service: string | null }>(
    `SELECT l.trace_id, l.span_id, l.linked_span_id, s.name, s.service FROM span_links l
     LEFT JOIN spans s ON s.trace_id = l.trace_id AND s.span_id = l.span_id WHERE l.linked_trace_id = ?`,
  );
  const totals = db.prepare<[], { spans: bigint | null; bytes: bigint | null }>('SELECT sum(span_count) AS spans, sum(size_bytes) AS bytes FROM traces');
  const oldestTraces = db.prepare<[number], { trace_id: string; span_count: bigint; size_bytes: bigint }>(
    'SELECT trace_id, span_count, size_bytes FROM traces ORDER BY start_ns LIMIT ?',
  );
  const expiredTraces = db.prepare<[bigint], { trace_id: string; span_count: bigint; size_bytes: bigint }>(
    'SELECT trace_id, span_count, size_bytes FROM traces WHERE start_ns < ?',
  );
  const deleteSpans = db.prepare('DELETE FROM spans WHERE trace_id = ?');
  const deleteLinks = db.prepare('DELETE FROM span_links WHERE trace_id = ?');
  const deleteTrace = db.prepare('DELETE FROM traces WHERE trace_id = ?');

  const t = totals.get()!;
  let spanCount = Number(t.spans ?? 0n);
  let byteCount = Number(t.bytes ?? 0n);
  metrics?.spansStored.set(spanCount);

  const insertAll = db.transaction((spans: readonly SpanRecord[]) => {
    let added = 0;
    for (const s of spans) {
      const attributes = JSON.stringify(s.attributes);
      const events = JSON.stringify(s.events, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      const links = JSON.stringify(s.links);
      const resource = JSON.stringify(s.resource);
      const sizeBytes = 200 + s.name.length + attributes.length + events.length + links.length + resource.length;
      const row = {
        trace_id: s.traceId,
        span_id: s.spanId,
        parent_span_id: s.parentSpanId,
        name: s.name,
        kind: s.kind,
        service: s.service,
        start_ns: s.startNs,
        end_ns: s.endNs,
        duration_ns: s.endNs - s.startNs,
        status_code: s.statusCode,
        status_message: s.statusMessage,
        model: s.attributes[ATTR_MODEL_NAME]?.value ?? null,
        version: s.attributes[ATTR_MODEL_VERSION]?.value ?? null,
        attributes,
        events,
        links,
        resource,
        scope_name: s.scopeName,
        size_bytes: sizeBytes,
      };
      if (insertSpan.run(row).changes === 0) continue;
      upsertTrace.run({ ...row, error: s.statusCode === 'ERROR' ? 1 : 0, is_root: s.parentSpanId === '' ? 1 : 0 });
      for (const link of s.links) insertLink.run(s.traceId, s.spanId, link.traceId, link.spanId);
      added++;
      spanCount++;
      byteCount += sizeBytes;
    }
    return added;
  });

  const deleteTraces = db.transaction((traceIds: readonly string[]) => {
    for (const id of traceIds) {
      deleteSpans.run(id);
      deleteLinks.run(id);
      deleteTrace.run(id);
    }
  });

  function removeTraces(rows: ReadonlyArray<{ trace_id: string; span_count: bigint; size_bytes: bigint }>): number {
    deleteTraces(rows.map((r) => r.trace_id));
    let spans = 0;
    for (const r of rows) {
      spans += Number(r.span_count);
      byteCount -= Number(r.size_bytes);
    }
    spanCount -= spans;
    return spans;
  }

  function prune(): { age: number; size: number } {
    const cutoffNs = BigInt(Math.floor(now() - maxAgeMs)) * 1_000_000n;
    const age = removeTraces(expiredTraces.all(cutoffNs));
    let size = 0;
    // Over a limit, prune to 90% of it, so that a full store does not prune on every insert.
    const overLimit = () => spanCount > maxSpans * 0.9 || byteCount > maxBytes * 0.9;
    if (spanCount > maxSpans || byteCount > maxBytes) {
      while (overLimit()) {
        const victims: Array<{ trace_id: string; span_count: bigint; size_bytes: bigint }> = [];
        let spans = spanCount;
        let bytes = byteCount;
        for (const row of oldestTraces.all(100)) {
          if (spans <= maxSpans * 0.9 && bytes <= maxBytes * 0.9) break;
          victims.push(row);
          spans -= Number(row.span_count);
          bytes -= Number(row.size_bytes);
        }
        if (victims.length === 0) break;
        size += removeTraces(victims);
      }
    }
    if (age > 0) metrics?.spansPrunedTotal.inc({ reason: 'age' }, age);
    if (size > 0) metrics?.spansPrunedTotal.inc({ reason: 'size' }, size);
    metrics?.spansStored.set(spanCount);
    if (age + size > 0) logger.debug('pruned spans', { age, size, spans: spanCount, bytes: byteCount });
    return { age, size };
  }

  let timer: NodeJS.Timeout | undefined;
  if (pruneIntervalMs > 0) {
    timer = setInterval(() => {
      try {
        prune();
      } catch (err) {
        logger.error('span pruning failed', { err });
      }
    }, pruneIntervalMs);
    timer.unref();
  }

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

  const searchCache = new Map<string, Statement>();
  let closed = false;

  return {
    insert(spans) {
      if (spans.length === 0) return 0;
      const added = insertAll(spans);
      metrics?.spansReceivedTotal.inc(added);
      metrics?.spansStored.set(spanCount);
      if (spanCount > maxSpans || byteCount > maxBytes) prune();
      return added;
    },

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
      const rows = traceSpans.all(id);
      if (rows.length === 0) return undefined;
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

    modelOverview(windowMinutes) {
      const minutes = Math.max(1, Math.min(1440, Math.floor(windowMinutes)));
      const endMs = now();
      const startMs = endMs - minutes * 60_000;
      const rows = db
        .prepare(
          `SELECT model, coalesce(version, '') AS version, duration_ns, status_code, start_ns FROM spans
           WHERE model IS NOT NULL AND kind = 'SERVER' AND start_ns >= ? ORDER BY model, version`,
        )
        .all(BigInt(Math.floor(startMs)) * 1_000_000n) as Array<{ model: string; version: string; duration_ns: bigint; status_code: string; start_ns: bigint }>;
      const groups = new Map<string, typeof rows>();
      for (const r of rows) {
        const key = `${r.model}\u0000${r.version}`;
        const list = groups.get(key) ?? [];
        list.push(r);
        groups.set(key, list);
      }
      return [...groups.values()].map((list) => {
        const durations = list.map((r) => Number(r.duration_ns) / 1e6).sort((a, b) => a - b);
        const errors = list.filter((r) => r.status_code === 'ERROR').length;
        const perMinute = new Array<number>(minutes).fill(0);
        for (const r of list) {
          const bucket = Math.floor((Number(r.start_ns / 1_000_000n) - startMs) / 60_000);
          perMinute[Math.min(minutes - 1, Math.max(0, bucket))]!++;
        }
        return {
          model: list[0]!.model,
          version: list[0]!.version,
          requests: list.length,
          errors,
          requestsPerSecond: list.length / (minutes * 60),
          errorRate: errors / list.length,
          p50Ms: percentile(durations, 0.5),
          p99Ms: percentile(durations, 0.99),
          requestsPerMinute: perMinute,
        };
      });
    },

    prune,

    size() {
      return { spans: spanCount, bytes: byteCount };
    },

    close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      db.close();
    },
  };
}
