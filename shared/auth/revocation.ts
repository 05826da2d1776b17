import type { TokenVerifier } from './token-verifier.js';

/**
 * The subject of TokenRevoked events (a RegistryEvent with `tokenRevoked`, on
 * the JetStream stream REGISTRY). Four tokens, so per-model filters
 * (`infermesh.registry.*.*.<model>`) never match it.
 */
export const TOKEN_REVOKED_SUBJECT = 'infermesh.registry.auth.revoked';

/** The fields of a TokenRevoked event a verifier needs. */
export interface RevocationNotice {
  tokenId: string;
  /** ms since the epoch; a number or the decoder's decimal string. */
  expiresAtUnixMs: number | string;
}

/** Applies a TokenRevoked event to a verifier. */
export function applyRevocation(verifier: TokenVerifier, notice: RevocationNotice): void {
  verifier.revoke(notice.tokenId, Number(notice.expiresAtUnixMs));
}
