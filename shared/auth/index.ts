export { AUTHORIZATION_HEADER, bearerHeader, bearerToken } from './bearer.js';
export { parseModelPatterns } from './model-pattern.js';
export { parseScopes } from './scopes.js';
export { TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_ISSUER, publicKeyId, signToken, tokenHash, type Principal } from './token-claims.js';
export { createTokenVerifier, type TokenVerifier } from './token-verifier.js';
export { TOKEN_REVOKED_SUBJECT, applyRevocation } from './revocation.js';
