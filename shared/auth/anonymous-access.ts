import { parseModelPatterns } from './model-pattern.js';
import type { Scope } from './scopes.js';
import type { Principal } from './token-claims.js';

/** The subject of a call that sent no token on a node with anonymous access. */
export const ANONYMOUS_SUBJECT = 'anonymous';

/** The flag (and its environment variable) that gives a node's anonymous access. */
export const ANONYMOUS_MODELS_FLAG = '--auth-anonymous-models';

/**
 * The principal an inference call without an `authorization` header gets on a
 * node started with `--auth --auth-anonymous-models PATTERNS`: subject
 * `anonymous`, scope `infer`, models `patterns` (the globs of token model
 * patterns, model-pattern.ts). It is checked per model exactly like a
 * token's principal (authorize); a model outside `patterns` is UNAUTHENTICATED
 * (a token is missing), not PERMISSION_DENIED. It never expires and is never
 * revoked: it is configuration, not a credential. Undefined for no patterns
 * (no anonymous access: an empty pattern list on a token means every model,
 * so it must never reach a principal here). INVALID_ARGUMENT naming a bad
 * pattern.
 */
export function anonymousPrincipal(patterns: readonly string[], what = ANONYMOUS_MODELS_FLAG): Principal | undefined {
  const models = parseModelPatterns(patterns, what);
  if (models.length === 0) return undefined;
  // One principal shared by every anonymous call, frozen so no handler can swap its lists. The
  // lists themselves are left unfrozen, like a token's: authorize walks `models` per streamed
  // message, and V8 can take a slower path over frozen arrays (measured up to 2x with .some).
  const scopes: Scope[] = ['infer'];
  return Object.freeze({
    subject: ANONYMOUS_SUBJECT,
    scopes,
    models,
    tokenId: '',
    expiresAtMs: Number.POSITIVE_INFINITY,
    anonymous: true,
  });
}

/** `--auth-anonymous-models a,b*` as text: the comma-separated patterns, spaces and empty items dropped (not yet checked). */
export function splitModelPatterns(text: string): string[] {
  return text.split(',').map((p) => p.trim()).filter((p) => p !== '');
}
