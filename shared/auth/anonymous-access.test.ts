import { generateKeyPairSync } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { Code, InfermeshError } from '../errors/index.js';
import { ANONYMOUS_SUBJECT, anonymousPrincipal, splitModelPatterns } from './anonymous-access.js';
import { bearerHeader } from './bearer.js';
import { createRpcAuthenticate, scopeTable, verifyRequest } from './rpc-auth.js';
import type { Scope } from './scopes.js';
import { publicKeyId, signToken, type Principal } from './token-claims.js';
import { authorize, createTokenVerifier } from './token-verifier.js';

// Anonymous access (`--auth-anonymous-models`): inference calls without a token on some models.
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const verifier = createTokenVerifier({ publicKey });
const anonymous = anonymousPrincipal(['open-*', 'demo'])!;
const table = scopeTable('pkg.Infer', { Live: 'public', Infer: 'infer', Stream: 'infer', Metadata: 'models:read', Export: 'authenticated', Load: 'admin' });
const authenticate = createRpcAuthenticate({ verifier, tables: [table], anonymous });

const tokenFor = (models: string[], scopes: Scope[] = ['infer']) =>
  signToken({ subject: 'ci', scopes, models, tokenId: `t-${models.join('-')}`, issuedAtMs: Date.now(), expiresAtMs: Date.now() + 60_000 }, privateKey, publicKeyId(publicKey));

const call = (method: string, token?: string) => {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', bearerHeader(token));
  // The hook is typed with the RPC layer's minimal principal; this one gives the full one.
  return Promise.resolve(authenticate({ metadata, peer: 'ipv4:127.0.0.1:1', method: `/pkg.Infer/${method}` })) as Promise<Principal | undefined>;
};

/** The InfermeshError `p` rejects with, or `p()` throws. */
async function failure(p: Promise<unknown> | (() => unknown)): Promise<InfermeshError> {
  const err = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(InfermeshError);
  return err as InfermeshError;
}

describe('anonymousPrincipal', () => {
  it('is subject anonymous with scope infer on the patterns, frozen; none for no patterns; a bad pattern is named', async () => {
    expect(anonymous).toMatchObject({ subject: ANONYMOUS_SUBJECT, scopes: ['infer'], models: ['open-*', 'demo'], anonymous: true });
    expect(Object.isFrozen(anonymous)).toBe(true);
    // An empty list on a token means every model: here it means no anonymous access at all.
    expect(anonymousPrincipal([])).toBeUndefined();
    const bad = await failure(() => anonymousPrincipal(['ok', 'no/slash']));
    expect(bad.code).toBe(Code.INVALID_ARGUMENT);
    expect(bad.message).toMatch(/--auth-anonymous-models: model pattern 'no\/slash' must be/);
    expect(splitModelPatterns(' a, b-* ,,')).toEqual(['a', 'b-*']);
  });
});

describe('anonymous access through the authentication hook', () => {
  it('an infer call without a token gets the anonymous principal, and an anonymous model passes the per-model check', async () => {
    for (const method of ['Infer', 'Stream']) {
      const principal = await call(method);
      expect(principal).toBe(anonymous);
      // What infer-handlers.ts does per request (per streamed message).
      expect(() => authorize(principal!, 'infer', 'open-mlp')).not.toThrow();
      expect(() => authorize(principal!, 'infer', 'demo')).not.toThrow();
    }
  });

  it('a model outside the patterns called without a token is UNAUTHENTICATED naming the model, never PERMISSION_DENIED', async () => {
    const principal = (await call('Stream'))!;
    const err = await failure(() => authorize(principal, 'infer', 'closed-mlp'));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).toMatch(/^missing bearer token: model closed-mlp requires one/);
    // `demo` is a whole name, not a prefix.
    expect((await failure(() => authorize(principal, 'infer', 'demo2'))).code).toBe(Code.UNAUTHENTICATED);
  });

  it('a call that sends a token is verified as ever: a bad one is UNAUTHENTICATED on an anonymous model too', async () => {
    for (const bad of ['a.b.c', '']) {
      const err = await failure(call('Infer', bad));
      expect(err.code, `token '${bad}'`).toBe(Code.UNAUTHENTICATED);
    }
    // A valid token is the token's principal, checked against its own patterns, not the anonymous ones.
    const principal = (await call('Infer', await tokenFor(['closed-*'])))!;
    expect(principal.subject).toBe('ci');
    expect(() => authorize(principal, 'infer', 'closed-mlp')).not.toThrow();
    expect((await failure(() => authorize(principal, 'infer', 'open-mlp'))).code).toBe(Code.PERMISSION_DENIED);
  });

  it('every other method still needs a token: admin, models:read and any-token methods without one are UNAUTHENTICATED', async () => {
    for (const method of ['Load', 'Metadata', 'Export', 'Unlisted']) {
      const err = await failure(call(method));
      expect(err.code, method).toBe(Code.UNAUTHENTICATED);
      expect(err.message, method).toMatch(/no token/);
    }
    expect(await call('Live')).toBeUndefined();
  });

  it('without anonymous access a call without a token is UNAUTHENTICATED as before', async () => {
    const closed = createRpcAuthenticate({ verifier, tables: [table] });
    const err = await failure(Promise.resolve(closed({ metadata: new Metadata(), peer: 'ipv4:127.0.0.1:1', method: '/pkg.Infer/Infer' })));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
  });
});

describe('verifyRequest with anonymous access (REST headers)', () => {
  it('checks the model of a request without an authorization header against the anonymous patterns', async () => {
    expect(await verifyRequest(verifier, {}, 'infer', 'open-x', anonymous)).toBe(anonymous);
    const err = await failure(verifyRequest(verifier, {}, 'infer', 'closed-x', anonymous));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).toMatch(/model closed-x requires one/);
    expect((await failure(verifyRequest(verifier, { authorization: 'Bearer a.b.c' }, 'infer', 'open-x', anonymous))).code).toBe(Code.UNAUTHENTICATED);
    expect((await failure(verifyRequest(verifier, { authorization: 'Basic dXNlcg==' }, 'infer', 'open-x', anonymous))).code).toBe(Code.UNAUTHENTICATED);
    expect((await failure(verifyRequest(verifier, {}, 'models:read', 'open-x', anonymous))).code).toBe(Code.UNAUTHENTICATED);
    const token = await tokenFor(['closed-*']);
    expect((await verifyRequest(verifier, { authorization: bearerHeader(token) }, 'infer', 'closed-x', anonymous)).subject).toBe('ci');
  });
});
