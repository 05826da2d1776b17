export { createRegistryService, DEFAULT_REGISTRY_OPTIONS, type RegistryService, type RegistryServiceOptions } from './registry-service.js';
export { registerRegistryCommands, parseRegistryConfig, type RegistryConfig } from './cli/index.js';
export { openRegistryStore, type RegistryStore, type OpenStoreOptions } from './store/index.js';
