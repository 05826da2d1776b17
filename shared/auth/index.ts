export { AUTHORIZATION_HEADER, MAX_TOKEN_LENGTH, bearerHeader, bearerToken, type HttpHeaders } from './bearer.js';
export { MAX_MODEL_PATTERNS, allowsModel, matchesModelPattern, parseModelPatterns } from './model-pattern.js';
export { SCOPES, hasScope, isScope, parseScopes, type Scope } from './scopes.js';
export {
  TOKEN_ALGORITHM,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  TOKEN_TYPE,
  publicKeyId,
  signToken,
  tokenHash,
  type Principal,
  type TokenClaims,
} from './token-claims.js';
export { DEFAULT_TOKEN_VERIFIER_OPTIONS, authorize, createTokenVerifier, type TokenVerifier, type TokenVerifierOptions } from './token-verifier.js';
export { TOKEN_REVOKED_SUBJECT, applyRevocation, type RevocationNotice } from './revocation.js';
