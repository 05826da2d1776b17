export { createRegistryAuth, type RegistryAuth, type RegistryAuthOptions } from './registry-auth.js';
export { SIGNING_KEY_FILE, loadOrCreateSigningKey, type SigningKey } from './signing-key.js';
export { DEFAULT_TOKEN_TTL_MS, MAX_TOKEN_TTL_MS, MIN_TOKEN_TTL_MS, createTokenIssuer, type TokenIssuer, type TokenRequest } from './token-issuer.js';
