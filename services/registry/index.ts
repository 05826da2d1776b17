export { createRegistryService, type RegistryService, type RegistryServiceOptions } from './registry-service.js';
export { registerRegistryCommands } from './cli/index.js';
export { openRegistryStore } from './store/index.js';
