import { randomUUID } from 'node:crypto';
import { parseModelPatterns, parseScopes, signToken, tokenHash } from '../../../shared/auth/index.js';
import { invalidArgument } from '../../../shared/errors/index.js';
import type { RegistryStore, TokenRecord, WriteContext } from '../store/index.js';
import type { SigningKey } from './signing-key.js';

/** Lifetime of a token when the request names none: 30 days. */
export const DEFAULT_TOKEN_TTL_MS = 30 * 24 * 3_600_000;
/** Longest lifetime: 366 days. */
export const MAX_TOKEN_TTL_MS = 366 * 24 * 3_600_000;
/** Shortest lifetime: one minute (JWT times are whole seconds). */
export const MIN_TOKEN_TTL_MS = 60_000;

/** What a token is for. */
export interface TokenRequest {
  subject: string;
  scopes: readonly string[];
  models?: readonly string[];
  /** Default {@link DEFAULT_TOKEN_TTL_MS}. */
  ttlMs?: number;
}

/** Issues tokens: checks the request, signs the JWT, records its id and hash (not the token) with its audit entry. */
export interface TokenIssuer {
  /** INVALID_ARGUMENT naming the bad subject, scope, pattern or ttl. The token is returned once. */
  issue(request: TokenRequest, ctx?: WriteContext): Promise<{ token: string; record: TokenRecord }>;
}

/** Creates a {@link TokenIssuer} over the registry's store and key. */
export function createTokenIssuer(options: { store: RegistryStore; key: SigningKey; clock?: () => number }): TokenIssuer {
  const clock = options.clock ?? Date.now;
  return {
    async issue(request, ctx) {
      const subject = checkSubject(request.subject);
      const scopes = parseScopes(request.scopes);
      const models = parseModelPatterns(request.models ?? []);
      const ttlMs = request.ttlMs === undefined || request.ttlMs === 0 ? DEFAULT_TOKEN_TTL_MS : request.ttlMs;
      if (!Number.isInteger(ttlMs) || ttlMs < MIN_TOKEN_TTL_MS || ttlMs > MAX_TOKEN_TTL_MS) {
        throw invalidArgument(`ttl must be between ${MIN_TOKEN_TTL_MS} ms (1 minute) and ${MAX_TOKEN_TTL_MS} ms (366 days), got ${request.ttlMs}`);
      }
      const issuedAtMs = clock();
      // Whole seconds, as the JWT carries them: the record and the token agree.
      const expiresAtMs = Math.floor((issuedAtMs + ttlMs) / 1000) * 1000;
      const tokenId = randomUUID();
      const token = await signToken({ subject, scopes, models, tokenId, issuedAtMs, expiresAtMs }, options.key.privateKey, options.key.keyId);
      const record = await options.store.createToken(
        { id: tokenId, sha256: tokenHash(token), subject, scopes, models, createdAtMs: issuedAtMs, expiresAtMs },
        ctx,
      );
      return { token, record };
    },
  };
}

function checkSubject(subject: string): string {
  if (!/^[A-Za-z0-9._@:-]{1,128}$/.test(subject)) {
    throw invalidArgument(`subject '${subject.slice(0, 128)}' must be 1-128 of A-Z a-z 0-9 . _ @ : -`);
  }
  return subject;
}
