/** A SQL parameter value. */
export type SqlValue = string | number | null | Uint8Array;

/** A row as the database returns it (BIGINTs already numbers, blobs as Uint8Array). */
export type SqlRow = Record<string, unknown>;

/** Statements inside one transaction. SQL uses `?` placeholders in both dialects. */
export interface SqlTx {
  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  /** Runs a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/**
 * The small piece that differs between SQLite and PostgreSQL: how transactions
 * are opened and serialized, placeholders, and column types in the schema.
 * Unique-key violations surface as an InfermeshError ALREADY_EXISTS.
 */
export interface SqlDriver {
  readonly kind: 'sqlite' | 'postgres';
  /** The column type for binary payloads (`BLOB` / `BYTEA`). */
  readonly blobType: string;
  /**
   * A read-write transaction. Write transactions are serialized (across
   * processes too), so a value read inside one cannot change before commit.
   */
  write<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  /** A consistent read-only snapshot. */
  read<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
