export { createRegistryAuth, type RegistryAuth } from './registry-auth.js';
