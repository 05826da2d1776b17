import Database, { type Database as DatabaseType } from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { unavailable } from '../../../shared/errors/index.js';
import { silentLogger, type Logger } from '../../../shared/logging/index.js';
import type { MonitorMetrics } from '../../../shared/telemetry/index.js';
import { ATTR_MODEL_NAME, ATTR_MODEL_VERSION } from '../../../shared/telemetry/index.js';
import type { SpanRecord } from './span-record.js';
import { checkTraceQuery, createSpanQueries, type ModelStatsRecord, type SpanQueries, type TraceDetail, type TraceQuery, type TraceSummaryRecord } from './span-queries.js';
import type { SpanQueryCall, SpanQueryReply } from './span-query-worker.js';

export { MAX_LIMIT, MAX_TRACE_SPANS, type TraceQuery, type TraceSummaryRecord, type ResolvedLink, type TraceDetail, type ModelStatsRecord } from './span-queries.js';

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

/**
 * The span store's reads off the caller's loop: on a worker thread with its
 * own read-only connection when the store is a file (the monitor's), on the
 * loop for an in-memory store (nothing else can open it). The monitor's API
 * and web page use these, so receiving OTLP exports never waits for a query.
 */
export interface SpanStoreQueries {
  search(query: TraceQuery): Promise<TraceSummaryRecord[]>;
  getTrace(traceId: string): Promise<TraceDetail | undefined>;
  listServices(): Promise<string[]>;
  listOperations(service?: string): Promise<string[]>;
  modelOverview(windowMinutes: number): Promise<ModelStatsRecord[]>;
}

export interface SpanStore {
  /** Stores spans (a span already held, by trace and span id, is ignored). Returns how many were new. */
  insert(spans: readonly SpanRecord[]): number;
  /** The reads below run synchronously on the caller's loop (tests, tools); a server uses {@link SpanStore.queries}. Each is bounded (see span-queries.ts). */
  search(query: TraceQuery): TraceSummaryRecord[];
  /** Every span of a trace, oldest first; undefined when none is held. */
  getTrace(traceId: string): TraceDetail | undefined;
  listServices(): string[];
  listOperations(service?: string): string[];
  /** Per model and version, from SERVER spans carrying infermesh.model.name/version that started in the window. */
  modelOverview(windowMinutes: number): ModelStatsRecord[];
  /** The same reads, off the loop. */
  queries: SpanStoreQueries;
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

/** Span queries waiting for the worker at once; beyond it a query is refused (UNAVAILABLE). */
export const MAX_PENDING_SPAN_QUERIES = 64;

type ClosableQueries = SpanStoreQueries & { close(): void };

/** An in-memory store's reads: on the loop, as promises. */
function loopQueries(reads: SpanQueries, now: () => number): ClosableQueries {
  const run = <T>(fn: () => T) => new Promise<T>((resolvePromise) => resolvePromise(fn()));
  return {
    search: (query) => run(() => reads.search(query)),
    getTrace: (traceId) => run(() => reads.getTrace(traceId)),
    listServices: () => run(() => reads.listServices()),
    listOperations: (service) => run(() => reads.listOperations(service)),
    modelOverview: (windowMinutes) => run(() => reads.modelOverview(windowMinutes, now())),
    close: () => undefined,
  };
}

/** span-query-worker.js beside this file, or in dist/ when this runs from source (tests). */
function queryWorkerScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, 'span-query-worker.js');
  if (existsSync(sibling)) return sibling;
  const built = resolve(here, '..', '..', '..', 'dist', 'services', 'monitor', 'store', 'span-query-worker.js');
  if (here.split(sep).includes('dist') || !existsSync(built)) throw new Error(`the span query worker ${built} is missing: run \`npm run build\` first`);
  return built;
}

/**
 * A file store's reads on one worker thread (started on the first query,
 * unref'd; a crashed worker fails the queries it held and the next query
 * starts another). At most {@link MAX_PENDING_SPAN_QUERIES} wait at once.
 */
function workerQueries(file: string, now: () => number, logger: Logger): ClosableQueries {
  let worker: Worker | undefined;
  let nextId = 0;
  let closed = false;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const start = () => {
    const w = new Worker(queryWorkerScript(), { workerData: { file } });
    w.unref();
    w.on('message', (reply: SpanQueryReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if ('error' in reply) p.reject(new Error(reply.error));
      else p.resolve(reply.result);
    });
    w.on('error', (err) => {
      logger.warn('the span query worker failed', { err });
      failAll(unavailable(`the span query worker failed: ${err.message}`));
    });
    w.on('exit', () => {
      if (worker === w) worker = undefined;
      failAll(unavailable('the span query worker stopped'));
    });
    return w;
  };
  const call = <T>(method: SpanQueryCall['method'], args: unknown[]): Promise<T> => {
    if (closed) return Promise.reject(unavailable('the span store is closed'));
    if (pending.size >= MAX_PENDING_SPAN_QUERIES) return Promise.reject(unavailable(`${MAX_PENDING_SPAN_QUERIES} span queries are already waiting; try again`));
    const id = nextId++;
    return new Promise<T>((resolvePromise, reject) => {
      pending.set(id, { resolve: resolvePromise as (v: unknown) => void, reject });
      (worker ??= start()).postMessage({ id, method, args } satisfies SpanQueryCall);
    });
  };
  return {
    search: (query) => {
      try {
        checkTraceQuery(query);
      } catch (err) {
        return Promise.reject(err);
      }
      return call('search', [query]);
    },
    getTrace: (traceId) => call('getTrace', [traceId]),
    listServices: () => call('listServices', []),
    listOperations: (service) => call('listOperations', [service]),
    modelOverview: (windowMinutes) => call('modelOverview', [windowMinutes, now()]),
    close: () => {
      closed = true;
      failAll(unavailable('the span store is closed'));
      void worker?.terminate();
      worker = undefined;
    },
  };
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

  const reads = createSpanQueries(db);
  const queries = options.dataDir ? workerQueries(join(options.dataDir, 'spans.sqlite'), now, logger) : loopQueries(reads, now);
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

    search: (query) => reads.search(query),
    getTrace: (traceId) => reads.getTrace(traceId),
    listServices: () => reads.listServices(),
    listOperations: (service) => reads.listOperations(service),
    modelOverview: (windowMinutes) => reads.modelOverview(windowMinutes, now()),
    queries,

    prune,

    size() {
      return { spans: spanCount, bytes: byteCount };
    },

    close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      queries.close();
      db.close();
    },
  };
}
