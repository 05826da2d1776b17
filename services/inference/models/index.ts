export { ModelManager, createModelManager, type LoadedVersion, type VersionLease, type VersionState, type ModelRouting } from './model-manager.js';
export { isVersionString, MODEL_FILENAME } from './model-repository.js';
export { type Duration } from './version-statistics.js';
