import { createHash } from 'node:crypto';

/** Who made a change, and from where. */
export interface Actor {
  /** The token's subject; {@link ANONYMOUS} when auth is off or the call carried no token. */
  subject: string;
  /** The caller's address (`ipv4:127.0.0.1:5123`, the gRPC peer); '' when unknown (a local call). */
  address: string;
}

/** The subject recorded when a change came without a token. */
export const ANONYMOUS = 'anonymous';

/** The actor of a change made without one: anonymous, no address. */
export const DEFAULT_ACTOR: Actor = { subject: ANONYMOUS, address: '' };

/** What the registry did, as audit actions. */
export const AUDIT_ACTIONS = [
  'model.create',
  'model.update',
  'version.create',
  'version.delete',
  'alias.set',
  'alias.delete',
  'reference.set',
  'token.create',
  'token.revoke',
  'node.identity.issue',
] as const;

/** One of {@link AUDIT_ACTIONS}. */
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** An entry before it is chained. */
export interface AuditInput {
  action: AuditAction;
  /** The model concerned; '' for none (tokens). */
  model: string;
  /** The change, as a JSON object (versions, alias weights, token ids and scopes; never a token). */
  details: Record<string, unknown>;
}

/** One stored entry of the audit log. */
export interface AuditEntry {
  /** 1, 2, 3, ...: gap-free. */
  sequence: number;
  atMs: number;
  subject: string;
  address: string;
  action: string;
  model: string;
  /** The details' JSON text, exactly as hashed. */
  detailsJson: string;
  /** Hex sha256 of the previous entry ({@link GENESIS_HASH} for the first). */
  previousHash: string;
  /** Hex sha256 of this entry's fields and `previousHash`. */
  hash: string;
}

/** `previousHash` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The hash of an entry: sha256 over its fields, each length-prefixed (so no
 * two different entries encode alike), and the previous entry's hash. Editing
 * any field of any entry, or removing one, breaks the chain from there on.
 */
export function auditEntryHash(e: Omit<AuditEntry, 'hash'>): string {
  const h = createHash('sha256');
  for (const field of [String(e.sequence), String(e.atMs), e.subject, e.address, e.action, e.model, e.detailsJson, e.previousHash]) {
    const bytes = Buffer.from(field, 'utf8');
    h.update(`${bytes.length}:`).update(bytes);
  }
  return h.digest('hex');
}

/** The result of walking the chain. */
export interface AuditVerification {
  ok: boolean;
  /** Entries checked. */
  entries: number;
  /** The first entry that does not check out (0 when ok), and why. */
  firstBadSequence: number;
  reason: string;
}

/**
 * Walks entries in sequence order and checks each one: its sequence follows
 * the previous one (a gap names the first missing entry), its `previousHash`
 * is the previous entry's hash, and its hash is that of its own fields (an
 * edited row). `head` is what the database says the last entry is (kept in
 * the same transaction as each append), so removing entries from the end is
 * caught too. Rewriting the whole chain and the head together is not: publish
 * or copy the head elsewhere to guard against that.
 */
export class AuditChainChecker {
  #expected = 1;
  #previousHash = GENESIS_HASH;
  #bad: { sequence: number; reason: string } | undefined;
  #count = 0;

  /** Checks the next entry; false once an entry failed (the rest need not be read). */
  add(e: AuditEntry): boolean {
    if (this.#bad) return false;
    this.#count++;
    if (e.sequence !== this.#expected) {
      const reason = e.sequence > this.#expected
        ? `entry ${this.#expected}${e.sequence - 1 > this.#expected ? `-${e.sequence - 1}` : ''} is missing (removed)`
        : `entry ${e.sequence} is out of order (expected ${this.#expected})`;
      this.#bad = { sequence: this.#expected, reason };
    } else if (auditEntryHash(e) !== e.hash) {
      this.#bad = { sequence: e.sequence, reason: `entry ${e.sequence} was edited (its hash does not match its content)` };
    } else if (e.previousHash !== this.#previousHash) {
      // This entry is intact, so the one before was rewritten with a recomputed hash.
      this.#bad = { sequence: e.sequence - 1, reason: `entry ${e.sequence - 1} was rewritten (entry ${e.sequence} names a different hash for it)` };
    }
    this.#expected = e.sequence + 1;
    this.#previousHash = e.hash;
    return !this.#bad;
  }

  /** The verdict, given the head the database recorded (undefined when it holds no entries). */
  finish(head: { sequence: number; hash: string } | undefined): AuditVerification {
    const done = (firstBadSequence: number, reason: string): AuditVerification => ({ ok: false, entries: this.#count, firstBadSequence, reason });
    if (this.#bad) return done(this.#bad.sequence, this.#bad.reason);
    const last = this.#expected - 1;
    if (head && head.sequence > last) return done(last + 1, `entry ${last + 1}${head.sequence > last + 1 ? `-${head.sequence}` : ''} is missing (removed from the end)`);
    if (head && head.sequence === last && head.hash !== this.#previousHash) return done(last, `entry ${last} was replaced (the recorded head hash differs)`);
    if (!head && last > 0) return done(1, 'the audit head record is missing');
    return { ok: true, entries: this.#count, firstBadSequence: 0, reason: '' };
  }
}

/** An alias's state at a point in time, from the audit log. */
export interface AliasAt {
  alias: string;
  version: number;
  weight: number;
  /** The entry that set it. */
  sequence: number;
  atMs: number;
  subject: string;
}

/**
 * Every alias of a model as it stood at `atMs`, from its `alias.set` /
 * `alias.delete` entries up to that time (oldest first). An alias deleted by
 * then is left out.
 */
export function aliasesAt(entries: readonly AuditEntry[], atMs: number): AliasAt[] {
  const state = new Map<string, AliasAt>();
  for (const e of entries) {
    if (e.atMs > atMs) continue;
    if (e.action !== 'alias.set' && e.action !== 'alias.delete') continue;
    const d = JSON.parse(e.detailsJson) as { alias: string; version?: number; weight?: number };
    if (e.action === 'alias.delete') state.delete(d.alias);
    else state.set(d.alias, { alias: d.alias, version: d.version ?? 0, weight: d.weight ?? 0, sequence: e.sequence, atMs: e.atMs, subject: e.subject });
  }
  return [...state.values()].sort((a, b) => a.alias.localeCompare(b.alias));
}
