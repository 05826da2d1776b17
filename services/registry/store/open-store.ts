import { join } from 'node:path';
import { createPostgresDriver } from './postgres-driver.js';
import { createSqliteDriver } from './sqlite-driver.js';
import { createSqlRegistryStore } from './sql-registry-store.js';
import type { RegistryStore } from './types.js';

/** Where the registry keeps its metadata. */
export interface OpenStoreOptions {
  /**
   * `postgres://...` (or `postgresql://...`) for PostgreSQL; a file path or
   * `sqlite:PATH` for SQLite; undefined for SQLite at `<dataDir>/registry.db`.
   */
  database?: string;
  dataDir: string;
  /** PostgreSQL schema for the tables. Default: `public`. */
  postgresSchema?: string;
  clock?: () => number;
  /** Called after every committed change (see SqlRegistryStoreOptions.onCommit). */
  onCommit?: () => void;
}

/** Opens (and creates when missing) the registry's database. */
export async function openRegistryStore(options: OpenStoreOptions): Promise<RegistryStore> {
  const db = options.database;
  const driver =
    db && /^postgres(ql)?:\/\//.test(db)
      ? await createPostgresDriver({ url: db, schema: options.postgresSchema })
      : createSqliteDriver(db ? db.replace(/^sqlite:/, '') : join(options.dataDir, 'registry.db'));
  return createSqlRegistryStore(driver, { clock: options.clock, onCommit: options.onCommit }).catch(async (err: unknown) => {
    await driver.close();
    throw err;
  });
}
