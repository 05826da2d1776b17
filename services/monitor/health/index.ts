export { createHealthEngine, profileFromRecords, DEFAULT_HEALTH_ENGINE_OPTIONS, type HealthEngine, type HealthEngineOptions, type VersionHealthView } from './health-engine.js';
export { createHealthStore, DEFAULT_HEALTH_STORE_OPTIONS, type HealthStore, type HealthStoreOptions, type AlertRow } from './health-store.js';
export { parseAlertRules, readAlertRulesFile, DEFAULT_ALERT_RULES, type AlertRulesConfig, type ModelAlertRules } from './alert-rules.js';
export { MAX_FEEDBACK_ITEMS } from './feedback-join.js';
export { numericProfile, categoricalProfile, type ReferenceProfile } from './drift.js';
export { createRegistryReferenceFetcher, createReferenceLookups, DEFAULT_REFERENCE_LOOKUP_OPTIONS, type ReferenceFetcher, type FetchedReference } from './registry-reference.js';
