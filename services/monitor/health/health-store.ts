import Database, { type Database as DatabaseType } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ReferenceProfile } from './drift.js';
import type { RecordFeatures } from './record-features.js';
import { defineDefaults, resolveOptions } from '../../../shared/options/index.js';

/** Defaults of {@link HealthStoreOptions}. */
export const DEFAULT_HEALTH_STORE_OPTIONS = defineDefaults({
  /** Records, feedback and history older than this are pruned: 7 days. */
  maxAgeMs: 7 * 24 * 3_600_000,
  /** Prediction records kept at most (oldest pruned first). */
  maxRecords: 200_000,
  /** History points kept per version at most. */
  maxPointsPerVersion: 2000,
} as const);

export interface HealthStoreOptions {
  /** Folder of `health.sqlite`; undefined keeps everything in memory. */
  dataDir?: string;
  maxAgeMs?: number;
  maxRecords?: number;
  maxPointsPerVersion?: number;
  now?: () => number;
}

/** One stored prediction record. */
export interface StoredRecord {
  /** The record's identity: PREDICTIONS stream sequence x MAX_RECORDS_PER_MESSAGE + its index in that message (a redelivered message is stored once). */
  seq: number;
  model: string;
  version: string;
  requestId: string;
  traceId: string;
  node: string;
  timeMs: number;
  latencyMs: number;
  features: RecordFeatures;
}

/** A joined feedback: per row, the prediction and the truth. */
export interface StoredFeedback {
  model: string;
  version: string;
  requestId: string;
  timeMs: number;
  task: 'classification' | 'regression';
  pairs: Array<[string | number, string | number]>;
}

export interface HealthPointRow {
  timeMs: number;
  psi: Record<string, number>;
  accuracy: number | null;
  feedbackSamples: number;
  mae: number | null;
}

/** A stored alert (firing or resolved), as published on ALERTS. */
export interface AlertRow {
  id: string;
  kind: string;
  rule: string;
  model: string;
  version: string;
  subject: string;
  state: 'firing' | 'resolved';
  value: number;
  threshold: number;
  samples: number;
  windowStartMs: number;
  windowEndMs: number;
  startedMs: number;
  resolvedMs: number;
  evidence: Record<string, number>;
  message: string;
}

/**
 * The model-health half of the monitor's embedded store (SQLite, like the
 * span store, in its own file): prediction records by stream sequence,
 * feedback joined to them, reference profiles, history points and alerts.
 * Bounded by age and by record count (see {@link DEFAULT_HEALTH_STORE_OPTIONS}).
 */
export interface HealthStore {
  /** Stores a record; false when that stream sequence is already stored (a redelivery). */
  insertRecord(record: StoredRecord): boolean;
  /** The newest record of a request id (or trace id when `byTrace`) for a model. */
  findRecord(model: string, id: string, byTrace?: boolean): StoredRecord | undefined;
  /** Stores feedback; false when the request already had some (the first stays). */
  insertFeedback(feedback: StoredFeedback): boolean;
  /** Versions with records, per model. */
  versions(model?: string): Array<{ model: string; version: string; records: number; lastSeq: number }>;
  models(): string[];
  /** The first `limit` records of a version (by sequence). */
  firstRecords(model: string, version: string, limit: number): StoredRecord[];
  /** The newest `limit` records of a version with sequence > afterSeq and time >= sinceMs, newest first. */
  recentRecords(model: string, version: string, limit: number, afterSeq: number, sinceMs: number): StoredRecord[];
  /** The newest `limit` feedback rows of a version since `sinceMs`. */
  recentFeedback(model: string, version: string, limit: number, sinceMs: number): StoredFeedback[];
  reference(model: string, version: string): (ReferenceProfile & { lastSeq: number }) | undefined;
  setReference(model: string, version: string, profile: ReferenceProfile, lastSeq: number): void;
  addPoint(model: string, version: string, point: HealthPointRow): void;
  points(model: string, version: string, limit: number): HealthPointRow[];
  upsertAlert(alert: AlertRow): void;
  alerts(options: { model?: string; firingOnly?: boolean; limit: number }): AlertRow[];
  /** Applies retention now; returns the rows removed. */
  prune(): number;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS records (
  seq INTEGER PRIMARY KEY, model TEXT NOT NULL, version TEXT NOT NULL, request_id TEXT NOT NULL, trace_id TEXT NOT NULL,
  node TEXT NOT NULL, time_ms INTEGER NOT NULL, latency_ms REAL NOT NULL, features TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_version ON records (model, version, seq);
CREATE INDEX IF NOT EXISTS records_request ON records (model, request_id);
CREATE INDEX IF NOT EXISTS records_trace ON records (model, trace_id);
CREATE INDEX IF NOT EXISTS records_time ON records (time_ms);
CREATE TABLE IF NOT EXISTS feedback (
  model TEXT NOT NULL, request_id TEXT NOT NULL, version TEXT NOT NULL, time_ms INTEGER NOT NULL, task TEXT NOT NULL, pairs TEXT NOT NULL,
  PRIMARY KEY (model, request_id));
CREATE INDEX IF NOT EXISTS feedback_version ON feedback (model, version, time_ms);
CREATE TABLE IF NOT EXISTS reference_profiles (
  model TEXT NOT NULL, version TEXT NOT NULL, last_seq INTEGER NOT NULL, profile TEXT NOT NULL, PRIMARY KEY (model, version));
CREATE TABLE IF NOT EXISTS health_points (
  model TEXT NOT NULL, version TEXT NOT NULL, time_ms INTEGER NOT NULL, point TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS health_points_version ON health_points (model, version, time_ms);
CREATE TABLE IF NOT EXISTS alerts (
  id TEXT PRIMARY KEY, model TEXT NOT NULL, state TEXT NOT NULL, started_ms INTEGER NOT NULL, alert TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_started ON alerts (started_ms);
`;

interface RecordDbRow {
  seq: number;
  model: string;
  version: string;
  request_id: string;
  trace_id: string;
  node: string;
  time_ms: number;
  latency_ms: number;
  features: string;
}

const toRecord = (r: RecordDbRow): StoredRecord => ({
  seq: r.seq,
  model: r.model,
  version: r.version,
  requestId: r.request_id,
  traceId: r.trace_id,
  node: r.node,
  timeMs: r.time_ms,
  latencyMs: r.latency_ms,
  features: JSON.parse(r.features) as RecordFeatures,
});

export function createHealthStore(options: HealthStoreOptions = {}): HealthStore {
  const o = resolveOptions(DEFAULT_HEALTH_STORE_OPTIONS, options);
  const now = options.now ?? Date.now;
  let db: DatabaseType;
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    db = new Database(join(options.dataDir, 'health.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  } else {
    db = new Database(':memory:');
  }
  db.exec(SCHEMA);
  const s = {
    insertRecord: db.prepare(
      'INSERT OR IGNORE INTO records (seq, model, version, request_id, trace_id, node, time_ms, latency_ms, features) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    byRequest: db.prepare('SELECT * FROM records WHERE model = ? AND request_id = ? ORDER BY seq DESC LIMIT 1'),
    byTrace: db.prepare('SELECT * FROM records WHERE model = ? AND trace_id = ? ORDER BY seq DESC LIMIT 1'),
    insertFeedback: db.prepare('INSERT OR IGNORE INTO feedback (model, request_id, version, time_ms, task, pairs) VALUES (?, ?, ?, ?, ?, ?)'),
    versions: db.prepare('SELECT model, version, COUNT(*) AS records, MAX(seq) AS lastSeq FROM records GROUP BY model, version ORDER BY model, version'),
    versionsOf: db.prepare('SELECT model, version, COUNT(*) AS records, MAX(seq) AS lastSeq FROM records WHERE model = ? GROUP BY model, version ORDER BY version'),
    models: db.prepare('SELECT DISTINCT model FROM records ORDER BY model'),
    first: db.prepare('SELECT * FROM records WHERE model = ? AND version = ? ORDER BY seq LIMIT ?'),
    recent: db.prepare('SELECT * FROM records WHERE model = ? AND version = ? AND seq > ? AND time_ms >= ? ORDER BY seq DESC LIMIT ?'),
    recentFeedback: db.prepare('SELECT * FROM feedback WHERE model = ? AND version = ? AND time_ms >= ? ORDER BY time_ms DESC LIMIT ?'),
    reference: db.prepare('SELECT last_seq, profile FROM reference_profiles WHERE model = ? AND version = ?'),
    setReference: db.prepare('INSERT OR REPLACE INTO reference_profiles (model, version, last_seq, profile) VALUES (?, ?, ?, ?)'),
    addPoint: db.prepare('INSERT INTO health_points (model, version, time_ms, point) VALUES (?, ?, ?, ?)'),
    trimPoints: db.prepare(
      'DELETE FROM health_points WHERE model = ? AND version = ? AND time_ms < (SELECT time_ms FROM health_points WHERE model = ? AND version = ? ORDER BY time_ms DESC LIMIT 1 OFFSET ?)',
    ),
    points: db.prepare('SELECT time_ms, point FROM (SELECT time_ms, point FROM health_points WHERE model = ? AND version = ? ORDER BY time_ms DESC LIMIT ?) ORDER BY time_ms'),
    upsertAlert: db.prepare('INSERT OR REPLACE INTO alerts (id, model, state, started_ms, alert) VALUES (?, ?, ?, ?, ?)'),
    pruneRecordsAge: db.prepare('DELETE FROM records WHERE time_ms < ?'),
    pruneRecordsSize: db.prepare('DELETE FROM records WHERE seq <= (SELECT seq FROM records ORDER BY seq DESC LIMIT 1 OFFSET ?)'),
    pruneFeedback: db.prepare('DELETE FROM feedback WHERE time_ms < ?'),
    prunePoints: db.prepare('DELETE FROM health_points WHERE time_ms < ?'),
    pruneAlerts: db.prepare("DELETE FROM alerts WHERE state = 'resolved' AND started_ms < ?"),
  };
  let closed = false;
  return {
    insertRecord: (r) =>
      s.insertRecord.run(r.seq, r.model, r.version, r.requestId, r.traceId, r.node, r.timeMs, r.latencyMs, JSON.stringify(r.features)).changes > 0,
    findRecord(model, id, byTrace = false) {
      const row = (byTrace ? s.byTrace : s.byRequest).get(model, id) as RecordDbRow | undefined;
      return row && toRecord(row);
    },
    insertFeedback: (f) => s.insertFeedback.run(f.model, f.requestId, f.version, f.timeMs, f.task, JSON.stringify(f.pairs)).changes > 0,
    versions: (model) => (model === undefined ? s.versions.all() : s.versionsOf.all(model)) as ReturnType<HealthStore['versions']>,
    models: () => (s.models.all() as Array<{ model: string }>).map((r) => r.model),
    firstRecords: (model, version, limit) => (s.first.all(model, version, limit) as RecordDbRow[]).map(toRecord),
    recentRecords: (model, version, limit, afterSeq, sinceMs) => (s.recent.all(model, version, afterSeq, sinceMs, limit) as RecordDbRow[]).map(toRecord),
    recentFeedback: (model, version, limit, sinceMs) =>
      (s.recentFeedback.all(model, version, sinceMs, limit) as Array<{ model: string; version: string; request_id: string; time_ms: number; task: string; pairs: string }>).map((r) => ({
        model: r.model,
        version: r.version,
        requestId: r.request_id,
        timeMs: r.time_ms,
        task: r.task as StoredFeedback['task'],
        pairs: JSON.parse(r.pairs) as StoredFeedback['pairs'],
      })),
    reference(model, version) {
      const row = s.reference.get(model, version) as { last_seq: number; profile: string } | undefined;
      return row && { ...(JSON.parse(row.profile) as ReferenceProfile), lastSeq: row.last_seq };
    },
    setReference: (model, version, profile, lastSeq) => void s.setReference.run(model, version, lastSeq, JSON.stringify(profile)),
    addPoint(model, version, point) {
      s.addPoint.run(model, version, point.timeMs, JSON.stringify(point));
      s.trimPoints.run(model, version, model, version, o.maxPointsPerVersion - 1);
    },
    points: (model, version, limit) => (s.points.all(model, version, limit) as Array<{ point: string }>).map((r) => JSON.parse(r.point) as HealthPointRow),
    upsertAlert: (a) => void s.upsertAlert.run(a.id, a.model, a.state, a.startedMs, JSON.stringify(a)),
    alerts({ model, firingOnly, limit }) {
      const where = [model ? 'model = @model' : '', firingOnly ? "state = 'firing'" : ''].filter(Boolean);
      const rows = db.prepare(`SELECT alert FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_ms DESC LIMIT @limit`).all({ model, limit }) as Array<{ alert: string }>;
      return rows.map((r) => JSON.parse(r.alert) as AlertRow);
    },
    prune() {
      const cutoff = now() - o.maxAgeMs;
      return db.transaction(() =>
        s.pruneRecordsAge.run(cutoff).changes +
        s.pruneRecordsSize.run(o.maxRecords).changes +
        s.pruneFeedback.run(cutoff).changes +
        s.prunePoints.run(cutoff).changes +
        s.pruneAlerts.run(cutoff).changes,
      )();
    },
    close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
