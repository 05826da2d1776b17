import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import type { SqlDriver, SqlRow, SqlTx, SqlValue } from './sql-driver.js';

/**
 * SQLite through better-sqlite3: one connection in WAL mode. better-sqlite3 is
 * synchronous, so transactions run one at a time behind a promise queue (an
 * async transaction body must not let another request's statements interleave).
 */
export function createSqliteDriver(path: string): SqlDriver {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string) => {
    let s = statements.get(sql);
    if (!s) statements.set(sql, (s = db.prepare(sql)));
    return s;
  };
  const tx: SqlTx = {
    async all(sql, params = []) {
      const s = prepare(sql);
      const args = params.map(toSqlite);
      return (s.reader ? s.all(...args) : (s.run(...args), [])) as SqlRow[];
    },
    async run(sql, params = []) {
      try {
        return prepare(sql).run(...params.map(toSqlite)).changes;
      } catch (err) {
        throw mapSqliteError(err);
      }
    },
  };
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;
  const serialize = <T>(begin: string | undefined, fn: (tx: SqlTx) => Promise<T>): Promise<T> => {
    const result = queue.then(async () => {
      if (closed) throw new InfermeshError(Code.UNAVAILABLE, 'the registry database is closed');
      if (!begin) return fn(tx);
      db.exec(begin);
      try {
        const value = await fn(tx);
        db.exec('COMMIT');
        return value;
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
    });
    queue = result.catch(() => undefined);
    return result;
  };
  return {
    kind: 'sqlite',
    blobType: 'BLOB',
    write: (fn) => serialize('BEGIN IMMEDIATE', fn),
    // Reads queue behind writes: a read between two awaits of a write body would see uncommitted rows.
    read: (fn) => serialize(undefined, fn),
    async close() {
      if (closed) return;
      await queue;
      closed = true;
      db.close();
    },
  };
}

function toSqlite(v: SqlValue): unknown {
  return v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
}

function mapSqliteError(err: unknown): unknown {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
    return new InfermeshError(Code.ALREADY_EXISTS, (err as Error).message, { cause: err });
  }
  return err;
}
