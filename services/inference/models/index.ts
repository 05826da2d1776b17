export {
  ModelManager,
  createModelManager,
  type ModelManagerOptions,
  type LoadedVersion,
  type VersionLease,
  type VersionStatus,
  type VersionState,
  type VersionSource,
  type ModelRouting,
} from './model-manager.js';
// The serving config lives in shared/model-config (the registry validates it too).
// Re-exported here only for the importers not yet moved onto it:
// mesh/registry-follower.ts, records/record-builder.ts, records/records.test.ts.
export {
  parseModelConfig,
  checkConfigAgainstSignature,
  MAX_MODEL_REPLICAS,
  type RecordsConfig,
  type InstanceGroupConfig,
} from '../../../shared/model-config/index.js';
export { scanModelRepository, scanRepositoryModel, isVersionString, MODEL_FILENAME, type RepositoryModel, type RepositoryVersion } from './model-repository.js';
export { VersionStatistics, mergeBatchStatistics, type Duration } from './version-statistics.js';
