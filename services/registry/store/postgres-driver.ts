import pg from 'pg';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import type { SqlDriver, SqlRow, SqlTx, SqlValue } from './sql-driver.js';

/** Options for {@link createPostgresDriver}. */
export interface PostgresDriverOptions {
  /** `postgres://user:password@host:port/database`. */
  url: string;
  /** Schema holding the registry's tables (created if missing). Default: `public`. */
  schema?: string;
  /** Most pooled connections. Default: 10. */
  maxConnections?: number;
}

/** Key of the advisory lock that serializes the registry's write transactions. */
const WRITE_LOCK_KEY = 0x1f3e5ed;
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * PostgreSQL through a `pg` pool. Write transactions take one transaction-level
 * advisory lock first, so they are serialized even across registry processes
 * (event sequences stay gap-free and in commit order).
 */
export async function createPostgresDriver(options: PostgresDriverOptions): Promise<SqlDriver> {
  const schema = options.schema ?? 'public';
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new InfermeshError(Code.INVALID_ARGUMENT, `schema '${schema}' must match [a-z_][a-z0-9_]*`);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    options: `-c search_path=${schema}`,
    // BIGINT columns hold millisecond times and sizes, well inside 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID || oid === NUMERIC_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener it would crash the process.
  pool.on('error', () => {});
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`).catch((err: unknown) => {
    // Concurrent CREATE SCHEMA IF NOT EXISTS can still race on the catalog's unique index.
    if ((err as { code?: string }).code !== '23505') throw err;
  });
  const transaction = async <T>(begin: string, lock: boolean, fn: (tx: SqlTx) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    const tx: SqlTx = {
      async all(sql, params = []) {
        return (await client.query(numbered(sql), params as SqlValue[])).rows as SqlRow[];
      },
      async run(sql, params = []) {
        try {
          return (await client.query(numbered(sql), params as SqlValue[])).rowCount ?? 0;
        } catch (err) {
          if ((err as { code?: string }).code === '23505') throw new InfermeshError(Code.ALREADY_EXISTS, (err as Error).message, { cause: err });
          throw err;
        }
      },
    };
    let broken = false;
    try {
      await client.query(begin);
      if (lock) await client.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK_KEY]);
      const value = await fn(tx);
      await client.query('COMMIT');
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      client.release(broken);
    }
  };
  let closed: Promise<void> | undefined;
  return {
    kind: 'postgres',
    blobType: 'BYTEA',
    write: (fn) => transaction('BEGIN', true, fn),
    read: (fn) => transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', false, fn),
    close: () => (closed ??= pool.end()),
  };
}

/** `?` placeholders to PostgreSQL's `$1, $2, ...` (the registry's SQL has no `?` inside literals). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
