/** Lifecycle state of a model version, as RepositoryIndex reports it. */
export type VersionState = 'LOADING' | 'READY' | 'UNAVAILABLE' | 'UNLOADING';

/** One row of {@link ModelManager.list}: a version, or a model-level failure (`version` ''). */
export interface VersionStatus {
  model: string;
  version: string;
  state: VersionState;
  /** Why it is UNAVAILABLE (or what it is doing), '' when READY. */
  reason: string;
  devices: readonly string[];
  notes: readonly string[];
  /** Requests holding this version right now (queued or running). */
  inFlight: number;
  /** When a request last acquired this version (ms since the epoch; 0 = never): for LRU eviction. */
  lastUsedMs: number;
}
