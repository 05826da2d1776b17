import { createHash, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Scope } from './scopes.js';

/** The JWT `typ` header of infermesh tokens: a JWT signed by the same key for another purpose is refused. */
export const TOKEN_TYPE = 'infermesh+jwt';
/** The signing algorithm: Ed25519 (no shared secret; edges hold only the public key). */
export const TOKEN_ALGORITHM = 'EdDSA';
/** `iss` of every token the registry issues. */
export const TOKEN_ISSUER = 'infermesh-registry';
/** `aud` of every token: the mesh's edges. */
export const TOKEN_AUDIENCE = 'infermesh';

/** Who a verified token speaks for, and what it may do. */
export interface Principal {
  /** The token's subject (a user or service name). */
  subject: string;
  scopes: Scope[];
  /** Model globs the token is limited to; empty for every model. */
  models: string[];
  /** The token id (`jti`): what ListTokens shows and RevokeToken takes. */
  tokenId: string;
  /** When it stops being accepted, in ms since the epoch. */
  expiresAtMs: number;
  /**
   * Set only on the principal of a call that sent no token on a node with
   * anonymous access (anonymous-access.ts): its refusals are UNAUTHENTICATED,
   * asking for a token, never PERMISSION_DENIED.
   */
  anonymous?: true;
}

/** What a token says, to sign. */
export interface TokenClaims {
  subject: string;
  scopes: readonly Scope[];
  models: readonly string[];
  tokenId: string;
  issuedAtMs: number;
  expiresAtMs: number;
}

/**
 * Signs claims as a compact JWT (EdDSA, `typ` {@link TOKEN_TYPE}, `kid` the
 * key's id). Scopes travel in `scp`, model patterns in `mdl`. Times are whole
 * seconds (JWT NumericDate): the expiry is rounded down.
 */
export function signToken(claims: TokenClaims, privateKey: KeyObject, keyId: string): Promise<string> {
  return new SignJWT({ scp: [...claims.scopes], mdl: [...claims.models] })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: TOKEN_TYPE, kid: keyId })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(claims.subject)
    .setJti(claims.tokenId)
    .setIssuedAt(Math.floor(claims.issuedAtMs / 1000))
    .setExpirationTime(Math.floor(claims.expiresAtMs / 1000))
    .sign(privateKey);
}

/** A public key's id: the first 16 base64url characters of the sha256 of its SPKI DER form. */
export function publicKeyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url').slice(0, 16);
}

/** Lowercase hex sha256 of a token: what the registry stores instead of the token. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
