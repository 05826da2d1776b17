import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import { Code, InfermeshError } from '../errors/index.js';
import { allowsModel } from './model-pattern.js';
import { hasScope, isScope, type Scope } from './scopes.js';
import { TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_ISSUER, TOKEN_TYPE, type Principal } from './token-claims.js';
import { resolveOptions } from '../options/index.js';

/** Options for {@link createTokenVerifier}. */
export interface TokenVerifierOptions {
  /** The registry's public key (GetPublicKey), as a KeyObject or SPKI PEM text. */
  publicKey: KeyObject | string;
  /** Verified tokens kept (least recently used go first). Default: 10000. */
  maxCachedTokens?: number;
  /** Revoked token ids kept (each until its token's expiry). Default: 100000. */
  maxRevokedTokens?: number;
  /** Slack on `exp` and `iat` for clocks that differ, in ms. Default: 5000. */
  clockToleranceMs?: number;
  /** Milliseconds since the epoch. Default: Date.now. */
  clock?: () => number;
}

/** Defaults of {@link TokenVerifierOptions}. */
export const DEFAULT_TOKEN_VERIFIER_OPTIONS = {
  maxCachedTokens: 10_000,
  maxRevokedTokens: 100_000,
  clockToleranceMs: 5000,
  clock: Date.now,
} as const;

/**
 * Checks tokens locally against the registry's public key: no call per
 * request. A verified token is cached until it expires, keyed by the sha256 of
 * the whole token (a forged token that reuses a real token's id never hits the
 * cache), and every hit re-checks expiry and revocation. Errors are
 * InfermeshErrors UNAUTHENTICATED (missing, malformed, expired, wrong
 * signature, revoked) or PERMISSION_DENIED (see {@link authorize}); no
 * message ever contains the token.
 */
export interface TokenVerifier {
  /** The principal a token speaks for. UNAUTHENTICATED when `token` is undefined or not valid now. */
  verify(token: string | undefined): Promise<Principal>;
  /** Stops accepting a token id (from RevokeToken's event), until `expiresAtMs` after which the token fails anyway. */
  revoke(tokenId: string, expiresAtMs: number): void;
  isRevoked(tokenId: string): boolean;
  /** Tokens in the cache now. */
  readonly cachedCount: number;
  /** Revoked ids held now. */
  readonly revokedCount: number;
}

/** Creates a {@link TokenVerifier}. INVALID_ARGUMENT when the key is not an Ed25519 public key. */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const o = resolveOptions(DEFAULT_TOKEN_VERIFIER_OPTIONS, options);
  const key = toPublicKey(options.publicKey);
  const cache = new Map<string, Principal>();
  const revoked = new Map<string, number>();

  const pruneRevoked = (nowMs: number) => {
    for (const [id, expiresAtMs] of revoked) if (expiresAtMs + o.clockToleranceMs < nowMs) revoked.delete(id);
  };

  const checkLive = (p: Principal, nowMs: number) => {
    if (revoked.has(p.tokenId)) throw unauthenticated(`token ${p.tokenId} of subject '${p.subject}' was revoked`);
    if (p.expiresAtMs + o.clockToleranceMs <= nowMs) throw unauthenticated(`token ${p.tokenId} of subject '${p.subject}' expired at ${new Date(p.expiresAtMs).toISOString()}`);
  };

  return {
    async verify(token) {
      if (token === undefined || token === '') throw unauthenticated("no token: send 'authorization: Bearer <token>'");
      const nowMs = o.clock();
      const cacheKey = createHash('sha256').update(token).digest('base64');
      const hit = cache.get(cacheKey);
      if (hit) {
        try {
          checkLive(hit, nowMs);
        } catch (err) {
          cache.delete(cacheKey);
          throw err;
        }
        // Most recently used last: the Map's insertion order is the eviction order.
        cache.delete(cacheKey);
        cache.set(cacheKey, hit);
        return hit;
      }
      const principal = await verifySignedToken(token, key, nowMs, o.clockToleranceMs);
      checkLive(principal, nowMs);
      cache.set(cacheKey, principal);
      if (cache.size > o.maxCachedTokens) cache.delete(cache.keys().next().value!);
      return principal;
    },
    revoke(tokenId, expiresAtMs) {
      if (!revoked.has(tokenId) && revoked.size >= o.maxRevokedTokens) {
        pruneRevoked(o.clock());
        if (revoked.size >= o.maxRevokedTokens) {
          throw new InfermeshError(Code.RESOURCE_EXHAUSTED, `more than ${o.maxRevokedTokens} revoked tokens are still unexpired; raise maxRevokedTokens`);
        }
      }
      revoked.set(tokenId, expiresAtMs);
      for (const [k, p] of cache) if (p.tokenId === tokenId) cache.delete(k);
    },
    isRevoked: (tokenId) => revoked.has(tokenId),
    get cachedCount() {
      return cache.size;
    },
    get revokedCount() {
      return revoked.size;
    },
  };
}

/**
 * Whether `principal` may use `scope` (on `model`, when the action concerns
 * one): PERMISSION_DENIED naming the missing scope, or the model and the
 * patterns the token allows; for the anonymous principal (a call without a
 * token, anonymous-access.ts) UNAUTHENTICATED naming what needs a token.
 * Returns quietly when allowed. Runs per streamed message: no allocation on
 * the allowed path.
 */
export function authorize(principal: Principal, scope: Scope, model?: string): void {
  if (!hasScope(principal.scopes, scope)) {
    if (principal.anonymous) throw unauthenticated(`missing bearer token: scope ${scope} requires one; send 'authorization: Bearer <token>'`);
    throw new InfermeshError(Code.PERMISSION_DENIED, `token for subject '${principal.subject}' lacks scope ${scope} (it has ${principal.scopes.join(', ')})`);
  }
  if (model !== undefined && !allowsModel(principal.models, model)) {
    if (principal.anonymous) {
      throw unauthenticated(`missing bearer token: model ${model} requires one (without a token only ${principal.models.join(', ')}); send 'authorization: Bearer <token>'`);
    }
    throw new InfermeshError(
      Code.PERMISSION_DENIED,
      `token for subject '${principal.subject}' is not allowed model ${model} (allowed: ${principal.models.join(', ')})`,
    );
  }
}

async function verifySignedToken(token: string, key: KeyObject, nowMs: number, clockToleranceMs: number): Promise<Principal> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [TOKEN_ALGORITHM],
      typ: TOKEN_TYPE,
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      requiredClaims: ['sub', 'jti', 'exp', 'iat'],
      currentDate: new Date(nowMs),
      clockTolerance: Math.floor(clockToleranceMs / 1000),
    }));
  } catch (err) {
    throw unauthenticated(describeJoseError(err), err);
  }
  const scopes = Array.isArray(payload.scp) ? payload.scp.filter((s): s is Scope => typeof s === 'string' && isScope(s)) : [];
  const models = Array.isArray(payload.mdl) ? payload.mdl.filter((m): m is string => typeof m === 'string') : [];
  return { subject: payload.sub!, scopes, models, tokenId: payload.jti!, expiresAtMs: payload.exp! * 1000 };
}

/** What was wrong, in words that never include the token. */
function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) {
    const exp = typeof err.payload.exp === 'number' ? ` at ${new Date(err.payload.exp * 1000).toISOString()}` : '';
    return `token${typeof err.payload.jti === 'string' ? ` ${err.payload.jti}` : ''} expired${exp}`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "token signature does not verify against the registry's public key";
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `token claim '${err.claim}' is not valid (${err.reason})`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return `token is not signed with ${TOKEN_ALGORITHM}`;
  return 'token is malformed (not an infermesh JWT)';
}

function toPublicKey(key: KeyObject | string): KeyObject {
  let k: KeyObject;
  try {
    k = typeof key === 'string' ? createPublicKey(key) : key;
  } catch (err) {
    throw new InfermeshError(Code.INVALID_ARGUMENT, 'the token public key is not a PEM public key', { cause: err });
  }
  if (k.type !== 'public' || k.asymmetricKeyType !== 'ed25519') {
    throw new InfermeshError(Code.INVALID_ARGUMENT, `the token public key must be an Ed25519 public key, got ${k.type} ${k.asymmetricKeyType ?? ''}`.trim());
  }
  return k;
}

function unauthenticated(message: string, cause?: unknown): InfermeshError {
  return new InfermeshError(Code.UNAUTHENTICATED, message, { cause });
}
