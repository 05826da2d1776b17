import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database, { type Database as DatabaseType } from 'better-sqlite3';
import type { IalsParams } from '../learning/index.js';

/** One recorded interaction, by dense user and item index. */
export interface StoredInteraction {
  userIdx: number;
  itemIdx: number;
  weight: number;
  timeMs: number;
}

/** A catalogue item. */
export interface CatalogueItem {
  idx: number;
  id: string;
  labels: Record<string, string>;
}

/** A trained model as the recommender keeps it (factors included, for fold-in and serving). */
export interface StoredModel {
  /** The registry version. */
  version: number;
  trainedAtMs: number;
  /** Interactions with seq ≤ maxSeq were in the training data. */
  maxSeq: number;
  interactions: number;
  users: number;
  items: number;
  dim: number;
  params: IalsParams;
  metrics: Record<string, number>;
  promoted: boolean;
  userFactors: Float32Array;
  itemFactors: Float32Array;
}

/** The interaction to record; `eventId` makes recording idempotent. */
export interface NewInteraction {
  eventId: string;
  userId: string;
  itemIdx: number;
  kind: string;
  weight: number;
  timeMs: number;
}

/**
 * The recommender's store (SQLite under the data dir): the item catalogue with
 * labels, users, the interaction log (dense indices, deduplicated by event id),
 * and the trained models with their factors. Users and items get dense
 * indices 0, 1, 2, ... in order of arrival, which are their rows in a model.
 */
export interface RecommenderStore {
  /** Adds or relabels items; returns how many were created and updated. */
  upsertItems(items: readonly { id: string; labels: Record<string, string> }[]): { created: number; updated: number };
  /** The index of an item id, or undefined. */
  itemIdx(id: string): number | undefined;
  /** Every item in index order. */
  items(): CatalogueItem[];
  itemCount(): number;
  /** The index of a user id, or undefined. */
  userIdx(id: string): number | undefined;
  userId(idx: number): string | undefined;
  userCount(): number;
  /** Records interactions in one transaction (creating users); returns the positions in `list` that were new (event ids not seen before). */
  recordInteractions(list: readonly NewInteraction[]): { recorded: number; fresh: number[] };
  /** The user's latest interactions, newest first (at most `limit`), with their sequence numbers. */
  userHistory(userIdx: number, limit: number): (StoredInteraction & { seq: number })[];
  /** Every interaction with seq ≤ maxSeq, in sequence order, as typed columns. */
  snapshot(): { maxSeq: number; user: Int32Array; item: Int32Array; weight: Float32Array; time: Float64Array; users: number; items: number };
  interactionCount(): number;
  /** The interaction counts of every item (index order). */
  itemCounts(): Float64Array;
  saveModel(model: StoredModel): void;
  setPromoted(version: number, promoted: boolean): void;
  /** The newest promoted model, or undefined. */
  latestPromoted(): StoredModel | undefined;
  /** A model by registry version, or undefined. */
  model(version: number): StoredModel | undefined;
  close(): void;
}

/** Opens (creating when needed) the store at `<dataDir>/recommender.db`. */
export function openRecommenderStore(dataDir: string): RecommenderStore {
  mkdirSync(dataDir, { recursive: true });
  const db: DatabaseType = new Database(join(dataDir, 'recommender.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS items (idx INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, labels TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS users (idx INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
    CREATE TABLE IF NOT EXISTS interactions (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,
      user_idx INTEGER NOT NULL, item_idx INTEGER NOT NULL, kind TEXT NOT NULL, weight REAL NOT NULL, time_ms INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS interactions_by_user ON interactions (user_idx, seq);
    CREATE TABLE IF NOT EXISTS models (
      version INTEGER PRIMARY KEY, trained_at_ms INTEGER NOT NULL, max_seq INTEGER NOT NULL, interactions INTEGER NOT NULL,
      users INTEGER NOT NULL, items INTEGER NOT NULL, dim INTEGER NOT NULL, params TEXT NOT NULL, metrics TEXT NOT NULL,
      promoted INTEGER NOT NULL, user_factors BLOB NOT NULL, item_factors BLOB NOT NULL);
  `);
  const q = {
    itemByIdx: db.prepare<[string], { idx: number; labels: string }>('SELECT idx, labels FROM items WHERE id = ?'),
    insertItem: db.prepare('INSERT INTO items (idx, id, labels) VALUES (?, ?, ?)'),
    relabelItem: db.prepare('UPDATE items SET labels = ? WHERE idx = ?'),
    allItems: db.prepare<[], { idx: number; id: string; labels: string }>('SELECT idx, id, labels FROM items ORDER BY idx'),
    itemCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM items'),
    userByIdx: db.prepare<[number], { id: string }>('SELECT id FROM users WHERE idx = ?'),
    userById: db.prepare<[string], { idx: number }>('SELECT idx FROM users WHERE id = ?'),
    insertUser: db.prepare('INSERT INTO users (idx, id) VALUES (?, ?)'),
    userCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM users'),
    insertInteraction: db.prepare('INSERT OR IGNORE INTO interactions (event_id, user_idx, item_idx, kind, weight, time_ms) VALUES (?, ?, ?, ?, ?, ?)'),
    history: db.prepare<[number, number], { seq: number; item_idx: number; weight: number; time_ms: number }>(
      'SELECT seq, item_idx, weight, time_ms FROM interactions WHERE user_idx = ? ORDER BY seq DESC LIMIT ?',
    ),
    all: db.prepare<[], { seq: number; user_idx: number; item_idx: number; weight: number; time_ms: number }>('SELECT seq, user_idx, item_idx, weight, time_ms FROM interactions ORDER BY seq'),
    interactionCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM interactions'),
    itemCounts: db.prepare<[], { item_idx: number; n: number }>('SELECT item_idx, COUNT(*) AS n FROM interactions GROUP BY item_idx'),
    saveModel: db.prepare(
      'INSERT OR REPLACE INTO models (version, trained_at_ms, max_seq, interactions, users, items, dim, params, metrics, promoted, user_factors, item_factors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    setPromoted: db.prepare('UPDATE models SET promoted = ? WHERE version = ?'),
    latestPromoted: db.prepare<[], ModelRow>('SELECT * FROM models WHERE promoted = 1 ORDER BY version DESC LIMIT 1'),
    model: db.prepare<[number], ModelRow>('SELECT * FROM models WHERE version = ?'),
  };
  let userTotal = q.userCount.get()!.n;
  let itemTotal = q.itemCount.get()!.n;

  const upsertItems = db.transaction((items: readonly { id: string; labels: Record<string, string> }[]) => {
    let created = 0;
    let updated = 0;
    for (const item of items) {
      const labels = JSON.stringify(item.labels);
      const row = q.itemByIdx.get(item.id);
      if (!row) {
        q.insertItem.run(itemTotal++, item.id, labels);
        created++;
      } else if (row.labels !== labels) {
        q.relabelItem.run(labels, row.idx);
        updated++;
      }
    }
    return { created, updated };
  });
  const record = db.transaction((list: readonly NewInteraction[]) => {
    const fresh: number[] = [];
    for (let n = 0; n < list.length; n++) {
      const it = list[n]!;
      let u = q.userById.get(it.userId)?.idx;
      if (u === undefined) {
        u = userTotal++;
        q.insertUser.run(u, it.userId);
      }
      const r = q.insertInteraction.run(it.eventId, u, it.itemIdx, it.kind, it.weight, it.timeMs);
      if (r.changes > 0) fresh.push(n);
    }
    return { recorded: fresh.length, fresh };
  });

  return {
    upsertItems: (items) => {
      try {
        return upsertItems(items);
      } catch (err) {
        itemTotal = q.itemCount.get()!.n; // the transaction rolled back
        throw err;
      }
    },
    itemIdx: (id) => q.itemByIdx.get(id)?.idx,
    items: () => q.allItems.all().map((r) => ({ idx: r.idx, id: r.id, labels: JSON.parse(r.labels) as Record<string, string> })),
    itemCount: () => itemTotal,
    userIdx: (id) => q.userById.get(id)?.idx,
    userId: (idx) => q.userByIdx.get(idx)?.id,
    userCount: () => userTotal,
    recordInteractions: (list) => {
      try {
        return record(list);
      } catch (err) {
        userTotal = q.userCount.get()!.n;
        throw err;
      }
    },
    userHistory: (userIdx, limit) =>
      q.history.all(userIdx, limit).map((r) => ({ seq: r.seq, userIdx, itemIdx: r.item_idx, weight: r.weight, timeMs: r.time_ms })),
    snapshot() {
      const rows = q.all.all();
      const n = rows.length;
      const out = { maxSeq: n ? rows[n - 1]!.seq : 0, user: new Int32Array(n), item: new Int32Array(n), weight: new Float32Array(n), time: new Float64Array(n), users: userTotal, items: itemTotal };
      for (let k = 0; k < n; k++) {
        const r = rows[k]!;
        out.user[k] = r.user_idx;
        out.item[k] = r.item_idx;
        out.weight[k] = r.weight;
        out.time[k] = r.time_ms;
      }
      return out;
    },
    interactionCount: () => q.interactionCount.get()!.n,
    itemCounts() {
      const counts = new Float64Array(itemTotal);
      for (const r of q.itemCounts.all()) if (r.item_idx < itemTotal) counts[r.item_idx] = r.n;
      return counts;
    },
    saveModel(m) {
      q.saveModel.run(
        m.version, m.trainedAtMs, m.maxSeq, m.interactions, m.users, m.items, m.dim, JSON.stringify(m.params), JSON.stringify(m.metrics), m.promoted ? 1 : 0,
        Buffer.from(m.userFactors.buffer, m.userFactors.byteOffset, m.userFactors.byteLength),
        Buffer.from(m.itemFactors.buffer, m.itemFactors.byteOffset, m.itemFactors.byteLength),
      );
    },
    setPromoted: (version, promoted) => void q.setPromoted.run(promoted ? 1 : 0, version),
    latestPromoted() {
      const r = q.latestPromoted.get();
      return r && fromRow(r);
    },
    model(version) {
      const r = q.model.get(version);
      return r && fromRow(r);
    },
    close: () => {
      if (db.open) db.close();
    },
  };
}

interface ModelRow {
  version: number;
  trained_at_ms: number;
  max_seq: number;
  interactions: number;
  users: number;
  items: number;
  dim: number;
  params: string;
  metrics: string;
  promoted: number;
  user_factors: Buffer;
  item_factors: Buffer;
}

function fromRow(r: ModelRow): StoredModel {
  // Copy into aligned Float32Arrays (a Buffer's offset need not be a multiple of 4).
  const floats = (b: Buffer) => new Float32Array(new Uint8Array(b).buffer);
  return {
    version: r.version,
    trainedAtMs: r.trained_at_ms,
    maxSeq: r.max_seq,
    interactions: r.interactions,
    users: r.users,
    items: r.items,
    dim: r.dim,
    params: JSON.parse(r.params) as IalsParams,
    metrics: JSON.parse(r.metrics) as Record<string, number>,
    promoted: r.promoted === 1,
    userFactors: floats(r.user_factors),
    itemFactors: floats(r.item_factors),
  };
}
