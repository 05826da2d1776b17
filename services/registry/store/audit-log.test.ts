import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { decodeRegistryEvent } from '../../../shared/registry-client/index.js';
import { TOKEN_REVOKED_SUBJECT } from '../../../shared/auth/index.js';
import { backends, sha, signature, type Backend } from './store-test-backends.js';
import type { RegistryStore, WriteContext } from './types.js';

const alice: WriteContext = { actor: { subject: 'alice', address: 'ipv4:10.0.0.5:4100' } };
const bob: WriteContext = { actor: { subject: 'bob', address: 'ipv6:[::1]:5200' } };

describe.each(backends)('audit log on $name', (backend) => {
  let env: Awaited<ReturnType<Backend['setup']>>;
  let store: RegistryStore;

  beforeAll(async () => {
    env = await backend.setup();
    store = await env.open();
  });
  afterAll(async () => {
    await store?.close();
    await env?.cleanup();
  });


  it('records every change once, in its transaction, with who and from where', async () => {
    await store.createModel({ name: 'fraud', description: 'd' }, alice);
    await store.updateModel({ name: 'fraud', description: 'd2', tags: ['t'] }, alice);
    await store.createVersion({ model: 'fraud', sha256: sha(1), sizeBytes: 10, signature, alias: { name: 'production', weight: 100 } }, bob);
    await store.createVersion({ model: 'fraud', sha256: sha(2), sizeBytes: 10, signature }, bob);
    await store.setAlias({ model: 'fraud', name: 'canary', version: 2, weight: 10 }, alice);
    await store.setAlias({ model: 'fraud', name: 'canary', version: 2, weight: 50 }, alice);
    await store.deleteAlias('fraud', 'canary', alice);
    await store.createVersion({ model: 'fraud', sha256: sha(3), sizeBytes: 10, signature });
    await store.deleteVersion('fraud', 3, bob);
    // A change that fails leaves no entry.
    await expect(store.deleteVersion('fraud', 1, bob)).rejects.toMatchObject({ code: Code.FAILED_PRECONDITION });
    await store.createToken({ id: 'tok-1', sha256: sha(99), subject: 'ci', scopes: ['models:write'], models: ['fraud-*'], createdAtMs: Date.now(), expiresAtMs: Date.now() + 3_600_000 }, alice);
    await store.revokeToken('tok-1', bob);

    const entries = await store.listAudit({ limit: 100 });
    expect(entries.map((e) => [e.sequence, e.action, e.model, e.subject])).toEqual([
      [1, 'model.create', 'fraud', 'alice'],
      [2, 'model.update', 'fraud', 'alice'],
      [3, 'version.create', 'fraud', 'bob'],
      [4, 'alias.set', 'fraud', 'bob'],
      [5, 'version.create', 'fraud', 'bob'],
      [6, 'alias.set', 'fraud', 'alice'],
      [7, 'alias.set', 'fraud', 'alice'],
      [8, 'alias.delete', 'fraud', 'alice'],
      [9, 'version.create', 'fraud', 'anonymous'],
      [10, 'version.delete', 'fraud', 'bob'],
      [11, 'token.create', '', 'alice'],
      [12, 'token.revoke', '', 'bob'],
    ]);
    expect(entries[0]!.address).toBe('ipv4:10.0.0.5:4100');
    expect(entries[8]!.address).toBe('');
    expect(JSON.parse(entries[6]!.detailsJson)).toEqual({ alias: 'canary', version: 2, weight: 50, previousVersion: 2, previousWeight: 10 });
    expect(JSON.parse(entries[10]!.detailsJson)).toEqual({ tokenId: 'tok-1', subject: 'ci', scopes: ['models:write'], models: ['fraud-*'], expiresAtMs: expect.any(Number) });
    expect(entries[0]!.previousHash).toBe('0'.repeat(64));
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.previousHash).toBe(entries[i - 1]!.hash);
    expect((await store.listAudit({ model: 'fraud', fromSequence: 6, limit: 2 })).map((e) => e.sequence)).toEqual([6, 7]);
    expect(await store.verifyAudit()).toEqual({ ok: true, entries: 12, firstBadSequence: 0, reason: '' });
  });

  it('stores a token by id and hash, revokes it once, and queues its TokenRevoked event', async () => {
    const stored = await store.getToken('tok-1');
    expect(stored).toMatchObject({ id: 'tok-1', sha256: sha(99), subject: 'ci', scopes: ['models:write'], models: ['fraud-*'], createdBy: 'alice' });
    expect(stored!.revokedAtMs).toBeGreaterThan(0);
    const err = await store.revokeToken('tok-1', bob).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfermeshError);
    expect((err as InfermeshError).code).toBe(Code.FAILED_PRECONDITION);
    expect(((await store.revokeToken('nope').catch((e: unknown) => e)) as InfermeshError).code).toBe(Code.NOT_FOUND);
    expect(await store.listTokens({ includeInactive: false, nowMs: Date.now() })).toEqual([]);
    expect((await store.listTokens({ includeInactive: true, nowMs: Date.now() })).map((t) => t.id)).toEqual(['tok-1']);
    const events = await store.eventsFrom(1, 1000);
    const revoked = events.filter((e) => e.subject === TOKEN_REVOKED_SUBJECT);
    expect(revoked).toHaveLength(1);
    expect(decodeRegistryEvent(revoked[0]!.payload).tokenRevoked).toMatchObject({ tokenId: 'tok-1', subject: 'ci', revokedBy: 'bob' });
    // The sequence stays gap-free across registry events and revocations.
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
  });

  it('answers which version each alias pointed at, at a time', async () => {
    const entries = await store.listAudit({ model: 'fraud', limit: 100 });
    const at = (seq: number) => entries.find((e) => e.sequence === seq)!.atMs;
    const before = await store.aliasesAt('fraud', at(1) - 1);
    expect(before).toEqual([]);
    const afterFirst = await store.aliasesAt('fraud', at(4));
    expect(afterFirst.map((a) => [a.alias, a.version, a.subject])).toContainEqual(['production', 1, 'bob']);
    const current = await store.aliasesAt('fraud', Date.now() + 1000);
    expect(current.map((a) => [a.alias, a.version, a.weight])).toEqual([['production', 1, 100]]);
  });

  it('names an edited entry', async () => {
    await env.exec(`UPDATE audit_log SET subject = 'mallory' WHERE sequence = 3`);
    expect(await store.verifyAudit()).toMatchObject({ ok: false, firstBadSequence: 3, reason: 'entry 3 was edited (its hash does not match its content)' });
    await env.exec(`UPDATE audit_log SET subject = 'bob' WHERE sequence = 3`);
    expect((await store.verifyAudit()).ok).toBe(true);
  });

  it('names a rewritten entry whose hash was recomputed', async () => {
    const [e5] = await store.listAudit({ fromSequence: 5, limit: 1 });
    const { auditEntryHash } = await import('../audit/index.js');
    const forged = { ...e5!, subject: 'mallory' };
    await env.exec(`UPDATE audit_log SET subject = 'mallory', hash = '${auditEntryHash(forged)}' WHERE sequence = 5`);
    expect(await store.verifyAudit()).toMatchObject({ ok: false, firstBadSequence: 5, reason: 'entry 5 was rewritten (entry 6 names a different hash for it)' });
    await env.exec(`UPDATE audit_log SET subject = '${e5!.subject}', hash = '${e5!.hash}' WHERE sequence = 5`);
    expect((await store.verifyAudit()).ok).toBe(true);
  });

  it('names a removed entry, in the middle or at the end', async () => {
    await env.exec(`DELETE FROM audit_log WHERE sequence = 7`);
    expect(await store.verifyAudit()).toMatchObject({ ok: false, firstBadSequence: 7, reason: 'entry 7 is missing (removed)' });
    await env.exec(`DELETE FROM audit_log WHERE sequence >= 11`);
    await env.exec(`DELETE FROM audit_log WHERE sequence <= 10`);
    expect(await store.verifyAudit()).toMatchObject({ ok: false, firstBadSequence: 1, reason: 'entry 1-12 is missing (removed from the end)' });
  });
});
