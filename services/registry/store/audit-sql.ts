import { AuditChainChecker, DEFAULT_ACTOR, GENESIS_HASH, aliasesAt, auditEntryHash, type AliasAt, type AuditEntry, type AuditInput, type AuditVerification } from '../audit/index.js';
import type { SqlRow, SqlTx, SqlValue } from './sql-driver.js';
import type { AuditQuery, WriteContext } from './types.js';

/** Longest subject and address recorded, in characters (they come from callers). */
const MAX_ACTOR_FIELD = 256;
/** Rows read per round when walking the chain. */
const VERIFY_PAGE = 1000;
const HEAD_KEY = 'audit_head';

/**
 * Appends one entry to the audit log inside the caller's write transaction
 * (writes are serialized, so the head read here is the last entry), and moves
 * the recorded head to it.
 */
export async function appendAudit(tx: SqlTx, ctx: WriteContext | undefined, input: AuditInput, nowMs: number): Promise<AuditEntry> {
  const head = await readHead(tx);
  const actor = ctx?.actor ?? DEFAULT_ACTOR;
  const unhashed = {
    sequence: (head?.sequence ?? 0) + 1,
    atMs: nowMs,
    subject: actor.subject.slice(0, MAX_ACTOR_FIELD),
    address: actor.address.slice(0, MAX_ACTOR_FIELD),
    action: input.action,
    model: input.model,
    detailsJson: JSON.stringify(input.details),
    previousHash: head?.hash ?? GENESIS_HASH,
  };
  const entry: AuditEntry = { ...unhashed, hash: auditEntryHash(unhashed) };
  await tx.run(
    `INSERT INTO audit_log (sequence, at_ms, subject, address, action, model, details, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [entry.sequence, entry.atMs, entry.subject, entry.address, entry.action, entry.model, entry.detailsJson, entry.previousHash, entry.hash],
  );
  await tx.run(`INSERT INTO registry_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [
    HEAD_KEY,
    JSON.stringify({ sequence: entry.sequence, hash: entry.hash }),
  ]);
  return entry;
}

/** Entries oldest first (see RegistryStore.listAudit). */
export async function listAudit(tx: SqlTx, query: AuditQuery): Promise<AuditEntry[]> {
  const params: SqlValue[] = [query.fromSequence ?? 1];
  let where = 'sequence >= ?';
  if (query.model) {
    where += ' AND model = ?';
    params.push(query.model);
  }
  params.push(query.limit);
  return (await tx.all(`SELECT * FROM audit_log WHERE ${where} ORDER BY sequence LIMIT ?`, params)).map(toAuditEntry);
}

/** Walks the whole chain in pages, inside one read. */
export async function verifyAudit(tx: SqlTx): Promise<AuditVerification> {
  const checker = new AuditChainChecker();
  let after = 0;
  for (;;) {
    const rows = await tx.all(`SELECT * FROM audit_log WHERE sequence > ? ORDER BY sequence LIMIT ?`, [after, VERIFY_PAGE]);
    let going = true;
    for (const row of rows) if (!(going = checker.add(toAuditEntry(row)))) break;
    if (!going || rows.length < VERIFY_PAGE) break;
    after = Number(rows[rows.length - 1]!.sequence);
  }
  return checker.finish(await readHead(tx));
}

/** Every alias of a model at a time, from its alias entries. */
export async function aliasHistory(tx: SqlTx, model: string, atMs: number): Promise<AliasAt[]> {
  const rows = await tx.all(`SELECT * FROM audit_log WHERE model = ? AND action IN ('alias.set', 'alias.delete') AND at_ms <= ? ORDER BY sequence`, [model, atMs]);
  return aliasesAt(rows.map(toAuditEntry), atMs);
}

async function readHead(tx: SqlTx): Promise<{ sequence: number; hash: string } | undefined> {
  const [row] = await tx.all(`SELECT value FROM registry_meta WHERE key = ?`, [HEAD_KEY]);
  return row ? (JSON.parse(String(row.value)) as { sequence: number; hash: string }) : undefined;
}

function toAuditEntry(r: SqlRow): AuditEntry {
  return {
    sequence: Number(r.sequence),
    atMs: Number(r.at_ms),
    subject: String(r.subject),
    address: String(r.address),
    action: String(r.action),
    model: String(r.model),
    detailsJson: String(r.details),
    previousHash: String(r.previous_hash),
    hash: String(r.hash),
  };
}
