import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenVerifier, signToken } from '../../../shared/auth/index.js';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { SIGNING_KEY_FILE, loadOrCreateSigningKey } from './signing-key.js';

describe('loadOrCreateSigningKey', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'infermesh-key-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('creates an Ed25519 key with mode 0600 on first start and reuses it after', async () => {
    const dir = dataDir();
    const first = await loadOrCreateSigningKey(dir);
    expect(first.created).toBe(true);
    expect(statSync(join(dir, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateSigningKey(dir);
    expect(again.created).toBe(false);
    expect(again.keyId).toBe(first.keyId);
    const token = await signToken({ subject: 's', scopes: ['infer'], models: [], tokenId: 't', issuedAtMs: Date.now(), expiresAtMs: Date.now() + 60_000 }, first.privateKey, first.keyId);
    expect((await createTokenVerifier({ publicKey: again.publicKey }).verify(token)).subject).toBe('s');
  });

  it('two starts at once end with one key', async () => {
    const dir = dataDir();
    const [a, b] = await Promise.all([loadOrCreateSigningKey(dir), loadOrCreateSigningKey(dir)]);
    expect(a.keyId).toBe(b.keyId);
    expect([a.created, b.created].filter(Boolean)).toHaveLength(1);
  });

  it('makes a key readable by others private again', async () => {
    const dir = dataDir();
    await loadOrCreateSigningKey(dir);
    chmodSync(join(dir, SIGNING_KEY_FILE), 0o644);
    await loadOrCreateSigningKey(dir);
    expect(statSync(join(dir, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
  });

  it('refuses a key file that is not an Ed25519 private key, naming it', async () => {
    const dir = dataDir();
    await loadOrCreateSigningKey(dir);
    writeFileSync(join(dir, SIGNING_KEY_FILE), 'garbage');
    const err = await loadOrCreateSigningKey(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfermeshError);
    expect((err as InfermeshError).code).toBe(Code.FAILED_PRECONDITION);
    expect((err as InfermeshError).message).toContain(join(dir, SIGNING_KEY_FILE));
  });
});
