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
export { scanModelRepository, scanRepositoryModel, isVersionString, MODEL_FILENAME, type RepositoryModel, type RepositoryVersion } from './model-repository.js';
export { VersionStatistics, mergeBatchStatistics, type Duration } from './version-statistics.js';
