export { AUTHORIZATION_HEADER, bearerHeader, bearerToken } from './bearer.js';
export { tokenFromEnv, withClientToken, type ClientTokenOption } from './client-token.js';
export { allowsModel, parseModelPatterns } from './model-pattern.js';
export { ANONYMOUS_MODELS_FLAG, anonymousPrincipal, splitModelPatterns } from './anonymous-access.js';
export { parseScopes, type Scope } from './scopes.js';
export { TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_ISSUER, publicKeyId, signToken, tokenHash, type Principal } from './token-claims.js';
export { authorize, createTokenVerifier, type TokenVerifier } from './token-verifier.js';
export { TOKEN_REVOKED_SUBJECT, applyRevocation } from './revocation.js';
export { loadTokenVerifier } from './public-key-source.js';
export { followRevocations, type RevocationFollower } from './revocation-follower.js';
export { authorizeCall, callPrincipal, createRpcAuthenticate, scopeTable, verifyRequest, withModelAuthorization, type MethodRequirement, type MethodScopes } from './rpc-auth.js';
export {
  DEFAULT_NODE_IDENTITY_VALID_FOR_MS,
  MAX_NODE_IDENTITY_VALID_FOR_MS,
  decodeNodeIdentity,
  encodeNodeIdentity,
  generateEd25519,
  isValidNodeId,
  issueNodeIdentity,
  nodeIdProblem,
  nodeIdentityStatement,
  parseEd25519PublicKeyPem,
  rawEd25519PublicKey,
  safeVerify,
  signedMessage,
  verifyNodeIdentity,
  type VerifiedNodeIdentity,
} from './node-identity.js';
