import type { SqlDriver } from './sql-driver.js';

/**
 * The registry's tables, in the SQL both SQLite and PostgreSQL accept. Tags and
 * labels sit in their own tables so that listings filter on them with plain
 * joins. JSON columns (labels of a version, lineage, signature, config) are text.
 */
export function schemaStatements(driver: SqlDriver): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS registry_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS models (
      name TEXT PRIMARY KEY,
      description TEXT NOT NULL,
      latest_version INTEGER NOT NULL,
      created_at_ms BIGINT NOT NULL,
      updated_at_ms BIGINT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS model_tags (
      model TEXT NOT NULL REFERENCES models (name) ON DELETE CASCADE,
      tag TEXT NOT NULL,
      PRIMARY KEY (model, tag))`,
    `CREATE TABLE IF NOT EXISTS model_labels (
      model TEXT NOT NULL REFERENCES models (name) ON DELETE CASCADE,
      key TEXT NOT NULL,
      value TEXT NOT NULL,
      PRIMARY KEY (model, key))`,
    `CREATE TABLE IF NOT EXISTS versions (
      model TEXT NOT NULL REFERENCES models (name),
      version INTEGER NOT NULL,
      sha256 TEXT NOT NULL,
      size_bytes BIGINT NOT NULL,
      description TEXT NOT NULL,
      labels TEXT NOT NULL,
      lineage TEXT NOT NULL,
      config_json TEXT NOT NULL,
      signature TEXT NOT NULL,
      created_at_ms BIGINT NOT NULL,
      PRIMARY KEY (model, version))`,
    `CREATE INDEX IF NOT EXISTS versions_sha256 ON versions (sha256)`,
    `CREATE TABLE IF NOT EXISTS aliases (
      model TEXT NOT NULL,
      name TEXT NOT NULL,
      version INTEGER NOT NULL,
      weight INTEGER NOT NULL,
      updated_at_ms BIGINT NOT NULL,
      PRIMARY KEY (model, name),
      FOREIGN KEY (model, version) REFERENCES versions (model, version))`,
    // Added after the first release: CREATE TABLE IF NOT EXISTS adds it to an existing database.
    `CREATE TABLE IF NOT EXISTS version_references (
      model TEXT NOT NULL,
      version INTEGER NOT NULL,
      input TEXT NOT NULL,
      features INTEGER NOT NULL,
      sampled_rows INTEGER NOT NULL,
      total_rows BIGINT NOT NULL,
      payload ${driver.blobType} NOT NULL,
      updated_at_ms BIGINT NOT NULL,
      PRIMARY KEY (model, version),
      FOREIGN KEY (model, version) REFERENCES versions (model, version))`,
    `CREATE TABLE IF NOT EXISTS outbox (
      sequence BIGINT PRIMARY KEY,
      subject TEXT NOT NULL,
      payload ${driver.blobType} NOT NULL,
      traceparent TEXT,
      created_at_ms BIGINT NOT NULL,
      published_at_ms BIGINT)`,
    `CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (sequence) WHERE published_at_ms IS NULL`,
    // The audit log: one row per change, appended in the change's transaction, each
    // carrying the sha256 of the previous row. registry_meta 'audit_head' holds the
    // last sequence and hash (so rows removed from the end are detected too).
    `CREATE TABLE IF NOT EXISTS audit_log (
      sequence BIGINT PRIMARY KEY,
      at_ms BIGINT NOT NULL,
      subject TEXT NOT NULL,
      address TEXT NOT NULL,
      action TEXT NOT NULL,
      model TEXT NOT NULL,
      details TEXT NOT NULL,
      previous_hash TEXT NOT NULL,
      hash TEXT NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS audit_log_model ON audit_log (model, sequence)`,
    // Issued tokens: their id and sha256, never the token.
    `CREATE TABLE IF NOT EXISTS tokens (
      id TEXT PRIMARY KEY,
      sha256 TEXT NOT NULL,
      subject TEXT NOT NULL,
      scopes TEXT NOT NULL,
      models TEXT NOT NULL,
      created_at_ms BIGINT NOT NULL,
      expires_at_ms BIGINT NOT NULL,
      revoked_at_ms BIGINT,
      created_by TEXT NOT NULL)`,
  ];
}
