export { createRegistryAuth, type RegistryAuth } from './registry-auth.js';
export { loadOrCreateSigningKey } from './signing-key.js';
