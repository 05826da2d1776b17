export { AUTHORIZATION_HEADER, MAX_TOKEN_LENGTH, bearerHeader, bearerToken, type HttpHeaders } from './bearer.js';
export { TOKEN_ENV, tokenFromEnv, withClientToken, type ClientTokenOption } from './client-token.js';
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
export { loadTokenVerifier, type PublicKeyRegistry, type PublicKeySource } from './public-key-source.js';
export { followRevocations, type RevocationFollower, type RevocationFollowerOptions } from './revocation-follower.js';
export {
  authorizeCall, callPrincipal, createRpcAuthenticate, scopeTable, verifyRequest, withModelAuthorization,
  type MethodRequirement, type MethodScopes, type RpcAuthOptions, type ScopeTable,
} from './rpc-auth.js';
