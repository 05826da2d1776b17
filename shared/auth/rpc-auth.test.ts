import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { Code, InfermeshError } from '../errors/index.js';
import { bearerHeader } from './bearer.js';
import { withClientToken } from './client-token.js';
import { loadTokenVerifier } from './public-key-source.js';
import { createRpcAuthenticate, scopeTable } from './rpc-auth.js';
import { publicKeyId, signToken } from './token-claims.js';
import { createTokenVerifier } from './token-verifier.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const verifier = createTokenVerifier({ publicKey });
const table = scopeTable('pkg.Svc', { Open: 'public', Any: 'authenticated', Read: 'models:read' });
const authenticate = createRpcAuthenticate({ verifier, tables: [table] });

const tokenWith = (scopes: ('infer' | 'models:read' | 'admin')[]) =>
  signToken({ subject: 'svc', scopes, models: [], tokenId: `t-${scopes.join('-')}`, issuedAtMs: Date.now(), expiresAtMs: Date.now() + 60_000 }, privateKey, publicKeyId(publicKey));

const call = (method: string, token?: string) => {
  const metadata = new Metadata();
  if (token) metadata.set('authorization', bearerHeader(token));
  return Promise.resolve(authenticate({ metadata, peer: 'ipv4:127.0.0.1:1', method: `/pkg.Svc/${method}` }));
};

async function failure(p: Promise<unknown>): Promise<InfermeshError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(InfermeshError);
  return err as InfermeshError;
}

describe('createRpcAuthenticate', () => {
  it('lets public methods through without looking at a token', async () => {
    expect(await call('Open')).toBeUndefined();
    expect(await call('Open', 'not.a.token')).toBeUndefined();
  });

  it('takes any valid token for `authenticated`, and none or a bad one is UNAUTHENTICATED', async () => {
    expect((await call('Any', await tokenWith(['infer'])))?.subject).toBe('svc');
    expect((await failure(call('Any'))).code).toBe(Code.UNAUTHENTICATED);
    expect((await failure(call('Any', 'a.b.c'))).code).toBe(Code.UNAUTHENTICATED);
  });

  it('checks the scope, naming the missing one', async () => {
    expect((await call('Read', await tokenWith(['models:read'])))?.subject).toBe('svc');
    const err = await failure(call('Read', await tokenWith(['infer'])));
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.message).toMatch(/lacks scope models:read/);
  });

  it('requires admin for a method the table does not list (closed by default)', async () => {
    expect((await failure(call('Unlisted', await tokenWith(['infer', 'models:read'])))).message).toMatch(/lacks scope admin/);
    expect((await call('Unlisted', await tokenWith(['admin'])))?.subject).toBe('svc');
  });
});

describe('withClientToken', () => {
  it("adds the bearer header after the caller's own hook, keeping a header already there", () => {
    const seen: string[] = [];
    const o = withClientToken({ token: 'x.y.z', decorateMetadata: (_md: Metadata, method: string) => void seen.push(method) });
    const fresh = new Metadata();
    o.decorateMetadata(fresh, '/pkg.Svc/Read');
    expect(fresh.get('authorization')).toEqual(['Bearer x.y.z']);
    expect(seen).toEqual(['/pkg.Svc/Read']);
    const forwarded = new Metadata();
    forwarded.set('authorization', 'Bearer caller.own.token');
    o.decorateMetadata(forwarded, '/pkg.Svc/Read');
    expect(forwarded.get('authorization')).toEqual(['Bearer caller.own.token']);
  });

  it('changes nothing without a token, and refuses one a header cannot carry', () => {
    expect(withClientToken<{ decorateMetadata?: () => void }>({})).toEqual({});
    expect(() => withClientToken({ token: 'bad token\n' })).toThrow(/characters a bearer token cannot have/);
  });
});

describe('loadTokenVerifier', () => {
  it('reads the key from a PEM file or from the registry, and names a bad file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infermesh-key-'));
    try {
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const file = join(dir, 'token-public-key.pem');
      writeFileSync(file, pem);
      const token = await tokenWith(['infer']);
      expect((await (await loadTokenVerifier({ file })).verify(token)).subject).toBe('svc');
      expect((await (await loadTokenVerifier({ registry: { getPublicKey: async () => ({ publicKeyPem: pem }) } })).verify(token)).subject).toBe('svc');
      await expect(loadTokenVerifier({ file: join(dir, 'missing.pem') })).rejects.toThrow(/cannot read the token public key file .*missing\.pem/);
      writeFileSync(join(dir, 'bad.pem'), 'not a key');
      await expect(loadTokenVerifier({ file: join(dir, 'bad.pem') })).rejects.toThrow(/not a PEM public key \(from the file .*bad\.pem\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
