import type { SqlRow, SqlTx } from './sql-driver.js';
import type { NewToken, TokenRecord } from './types.js';

/** Inserts a token row (ALREADY_EXISTS from the driver for a reused id). */
export async function insertToken(tx: SqlTx, token: NewToken, createdBy: string): Promise<TokenRecord> {
  await tx.run(
    `INSERT INTO tokens (id, sha256, subject, scopes, models, created_at_ms, expires_at_ms, revoked_at_ms, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
    [token.id, token.sha256, token.subject, JSON.stringify(token.scopes), JSON.stringify(token.models), token.createdAtMs, token.expiresAtMs, createdBy],
  );
  return { ...token, createdBy };
}

export async function tokenIn(tx: SqlTx, id: string): Promise<TokenRecord | undefined> {
  const [row] = await tx.all(`SELECT * FROM tokens WHERE id = ?`, [id]);
  return row && toToken(row);
}

export async function listTokens(tx: SqlTx, includeInactive: boolean, nowMs: number): Promise<TokenRecord[]> {
  const rows = includeInactive
    ? await tx.all(`SELECT * FROM tokens ORDER BY created_at_ms DESC, id`)
    : await tx.all(`SELECT * FROM tokens WHERE revoked_at_ms IS NULL AND expires_at_ms > ? ORDER BY created_at_ms DESC, id`, [nowMs]);
  return rows.map(toToken);
}

export async function markRevoked(tx: SqlTx, id: string, atMs: number): Promise<void> {
  await tx.run(`UPDATE tokens SET revoked_at_ms = ? WHERE id = ?`, [atMs, id]);
}

function toToken(r: SqlRow): TokenRecord {
  return {
    id: String(r.id),
    sha256: String(r.sha256),
    subject: String(r.subject),
    scopes: JSON.parse(String(r.scopes)) as string[],
    models: JSON.parse(String(r.models)) as string[],
    createdAtMs: Number(r.created_at_ms),
    expiresAtMs: Number(r.expires_at_ms),
    ...(r.revoked_at_ms === null || r.revoked_at_ms === undefined ? {} : { revokedAtMs: Number(r.revoked_at_ms) }),
    createdBy: String(r.created_by),
  };
}
