import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { Code, InfermeshError } from '../errors/index.js';
import { bearerToken } from './bearer.js';
import { allowsModel, matchesModelPattern, parseModelPatterns } from './model-pattern.js';
import { parseScopes, type Scope } from './scopes.js';
import { publicKeyId, signToken, type Principal } from './token-claims.js';
import { authorize, createTokenVerifier } from './token-verifier.js';

const HOUR_MS = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

function keys() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, keyId: publicKeyId(publicKey) };
}

function issue(k: { privateKey: KeyObject; keyId: string }, over: Partial<{ subject: string; scopes: Scope[]; models: string[]; tokenId: string; expiresAtMs: number }> = {}) {
  return signToken(
    { subject: 'alice', scopes: ['infer'], models: [], tokenId: 'tok-1', issuedAtMs: T0, expiresAtMs: T0 + HOUR_MS, ...over },
    k.privateKey,
    k.keyId,
  );
}

async function failure(p: Promise<unknown> | (() => unknown)): Promise<InfermeshError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(InfermeshError);
    return err as InfermeshError;
  }
  throw new Error('expected a failure');
}

describe('TokenVerifier', () => {
  const k = keys();
  const clock = { now: T0 + 1000 };
  const verifier = () => createTokenVerifier({ publicKey: k.publicKey, clock: () => clock.now, clockToleranceMs: 0 });

  it('accepts a token it signed and returns its principal', async () => {
    const token = await issue(k, { scopes: ['infer', 'models:read'], models: ['fraud-*'] });
    const p = await verifier().verify(token);
    expect(p).toEqual({ subject: 'alice', scopes: ['infer', 'models:read'], models: ['fraud-*'], tokenId: 'tok-1', expiresAtMs: T0 + HOUR_MS });
  });

  it('refuses a missing token with UNAUTHENTICATED', async () => {
    const err = await failure(verifier().verify(undefined));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).toMatch(/no token/);
  });

  it('refuses an expired token, naming when it expired and never echoing it', async () => {
    const token = await issue(k, { expiresAtMs: T0 + 500 });
    const err = await failure(verifier().verify(token));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).toMatch(/expired at 2026-01-01T00:00:00/);
    expect(err.message).not.toContain(token.split('.')[2]);
  });

  it('refuses a cached token once it expires', async () => {
    const v = verifier();
    const token = await issue(k, { expiresAtMs: T0 + 10_000 });
    await v.verify(token);
    expect(v.cachedCount).toBe(1);
    clock.now = T0 + 20_000;
    try {
      expect((await failure(v.verify(token))).message).toMatch(/expired/);
      expect(v.cachedCount).toBe(0);
    } finally {
      clock.now = T0 + 1000;
    }
  });

  it('refuses a token signed by another key', async () => {
    const token = await issue(keys());
    const err = await failure(verifier().verify(token));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).toMatch(/signature does not verify/);
  });

  it('refuses a token whose claims were changed after signing, even when the real one is cached', async () => {
    const v = verifier();
    const token = await issue(k, { scopes: ['infer'] });
    await v.verify(token);
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'alice', jti: 'tok-1', scp: ['admin'], mdl: [], iss: 'infermesh-registry', aud: 'infermesh', iat: T0 / 1000, exp: T0 / 1000 + 3600 })).toString('base64url')}.${s}`;
    expect((await failure(v.verify(forged))).code).toBe(Code.UNAUTHENTICATED);
  });

  it('refuses malformed tokens and JWTs of another type', async () => {
    expect((await failure(verifier().verify('not-a-jwt'))).message).toMatch(/malformed/);
    const other = await new SignJWT({ sub: 'alice', jti: 'x' }).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' }).setIssuedAt(T0 / 1000).setExpirationTime(T0 / 1000 + 60).sign(k.privateKey);
    expect((await failure(verifier().verify(other))).code).toBe(Code.UNAUTHENTICATED);
  });

  it('refuses a revoked token, cached or not', async () => {
    const v = verifier();
    const token = await issue(k, { tokenId: 'tok-r' });
    await v.verify(token);
    v.revoke('tok-r', T0 + HOUR_MS);
    expect(v.cachedCount).toBe(0);
    const err = await failure(v.verify(token));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).toBe("token tok-r of subject 'alice' was revoked");
    const fresh = verifier();
    fresh.revoke('tok-r', T0 + HOUR_MS);
    expect((await failure(fresh.verify(token))).message).toMatch(/revoked/);
  });

  it('keeps at most maxCachedTokens, dropping the least recently used', async () => {
    const v = createTokenVerifier({ publicKey: k.publicKey, clock: () => clock.now, maxCachedTokens: 2 });
    const tokens = await Promise.all(['a', 'b', 'c'].map((id) => issue(k, { tokenId: id })));
    for (const t of tokens) await v.verify(t);
    expect(v.cachedCount).toBe(2);
  });

  it('bounds the revoked ids, pruning expired ones first', () => {
    const v = createTokenVerifier({ publicKey: k.publicKey, clock: () => clock.now, maxRevokedTokens: 2, clockToleranceMs: 0 });
    v.revoke('old', T0);
    v.revoke('live', T0 + HOUR_MS);
    v.revoke('new', T0 + HOUR_MS);
    expect(v.isRevoked('old')).toBe(false);
    expect(v.revokedCount).toBe(2);
    expect(() => v.revoke('one-too-many', T0 + HOUR_MS)).toThrow(/more than 2 revoked tokens/);
  });

  it('refuses a key that is not an Ed25519 public key', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => createTokenVerifier({ publicKey })).toThrow(/Ed25519/);
    expect(() => createTokenVerifier({ publicKey: 'nope' })).toThrow(/PEM/);
    expect(() => createTokenVerifier({ publicKey: k.publicKey.export({ type: 'spki', format: 'pem' }).toString() })).not.toThrow();
  });
});

describe('authorize', () => {
  const principal = (scopes: Scope[], models: string[] = []): Principal => ({ subject: 'svc', scopes, models, tokenId: 't', expiresAtMs: T0 });

  it('allows a granted scope, and admin implies every scope', () => {
    expect(() => authorize(principal(['models:read']), 'models:read')).not.toThrow();
    for (const s of parseScopes(['infer', 'models:write', 'models:promote', 'models:delete', 'traces:read', 'feedback:write'])) {
      expect(() => authorize(principal(['admin']), s, 'any-model')).not.toThrow();
    }
  });

  it('refuses a missing scope with PERMISSION_DENIED naming it', async () => {
    const err = await failure(() => authorize(principal(['models:read']), 'models:write'));
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.message).toBe("token for subject 'svc' lacks scope models:write (it has models:read)");
  });

  it('lets infer on fraud-* call fraud-v1 and not demo-mlp', async () => {
    const p = principal(['infer'], ['fraud-*']);
    expect(() => authorize(p, 'infer', 'fraud-v1')).not.toThrow();
    const err = await failure(() => authorize(p, 'infer', 'demo-mlp'));
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.message).toBe("token for subject 'svc' is not allowed model demo-mlp (allowed: fraud-*)");
  });
});

describe('model patterns and scopes', () => {
  it('matches globs over the whole name', () => {
    expect(matchesModelPattern('fraud-*', 'fraud-v1')).toBe(true);
    expect(matchesModelPattern('fraud-*', 'fraud-')).toBe(true);
    expect(matchesModelPattern('fraud-*', 'xfraud-v1')).toBe(false);
    expect(matchesModelPattern('*-mlp', 'demo-mlp')).toBe(true);
    expect(matchesModelPattern('m?', 'm1')).toBe(true);
    expect(matchesModelPattern('m?', 'm12')).toBe(false);
    expect(matchesModelPattern('a*b*c', 'aXbYc')).toBe(true);
    expect(matchesModelPattern('a*b*c', 'aXbY')).toBe(false);
    expect(matchesModelPattern('demo', 'demo')).toBe(true);
  });

  it('a grant covers a model that any of its patterns matches, exactly or by glob; an empty grant covers every model', () => {
    expect(allowsModel([], 'anything')).toBe(true);
    expect(allowsModel(['demo', 'fraud-*'], 'demo')).toBe(true);
    expect(allowsModel(['demo', 'fraud-*'], 'fraud-v2')).toBe(true);
    expect(allowsModel(['demo', 'fraud-*'], 'demo-mlp')).toBe(false);
    expect(allowsModel(['demo', 'fraud-*'], 'xfraud-v2')).toBe(false);
  });

  it('names a bad pattern or scope', () => {
    expect(() => parseModelPatterns(['fraud.*'])).toThrow(/model pattern 'fraud.\*'/);
    expect(() => parseScopes(['infer', 'root'])).toThrow(/unknown scope 'root'/);
    expect(() => parseScopes([])).toThrow(/at least one scope/);
  });
});

describe('bearerToken', () => {
  it('reads the token from gRPC metadata and HTTP headers', () => {
    const md = new Metadata();
    md.set('authorization', 'Bearer abc.def.ghi');
    expect(bearerToken(md)).toBe('abc.def.ghi');
    expect(bearerToken({ authorization: 'bearer abc.def.ghi' })).toBe('abc.def.ghi');
    expect(bearerToken(new Headers({ authorization: 'Bearer x.y.z' }))).toBe('x.y.z');
    expect(bearerToken(new Metadata())).toBeUndefined();
    expect(bearerToken({})).toBeUndefined();
  });

  it('refuses a header that is not one Bearer token, without echoing it', async () => {
    const err = await failure(() => bearerToken({ authorization: 'Basic c2VjcmV0LXZhbHVl' }));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).not.toContain('c2VjcmV0LXZhbHVl');
    expect((await failure(() => bearerToken({ authorization: ['Bearer a', 'Bearer b'] }))).message).toMatch(/one 'authorization' header/);
  });
});
