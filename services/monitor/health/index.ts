export { createHealthEngine, DEFAULT_HEALTH_ENGINE_OPTIONS, type HealthEngine, type HealthEngineOptions, type VersionHealthView } from './health-engine.js';
export { createHealthStore, type HealthStore, type HealthStoreOptions, type AlertRow } from './health-store.js';
export { parseAlertRules, readAlertRulesFile } from './alert-rules.js';
export { MAX_FEEDBACK_ITEMS } from './feedback-join.js';
export { createRegistryReferenceFetcher } from './registry-reference.js';
