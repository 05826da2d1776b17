// The registry's option merge is the shared one (shared/options). This alias
// stays until services/registry/registry-service.ts imports resolveOptions
// itself; then this file goes.
export { resolveOptions as withDefaults } from '../../shared/options/index.js';
