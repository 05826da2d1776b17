export { openRegistryStore, type OpenStoreOptions } from './open-store.js';
export { createSqlRegistryStore, type SqlRegistryStoreOptions } from './sql-registry-store.js';
export { createSqliteDriver } from './sqlite-driver.js';
export { createPostgresDriver, type PostgresDriverOptions } from './postgres-driver.js';
export type { SqlDriver, SqlTx, SqlRow, SqlValue } from './sql-driver.js';
export type {
  AliasRecord,
  AuditQuery,
  Lineage,
  ModelInput,
  ModelQuery,
  ModelRecord,
  NewReference,
  NewToken,
  NewVersion,
  OutboxEvent,
  ReferenceRecord,
  RegistryStore,
  RegistrySnapshot,
  TokenRecord,
  VersionRecord,
  WriteContext,
} from './types.js';
