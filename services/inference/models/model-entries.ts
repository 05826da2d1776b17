import type { BatchStatistics } from '../execution/index.js';
import type { ModelRouting } from './canary-routing.js';
import type { LoadedVersion } from './version-loader.js';
import type { ServedVersion } from './version-leases.js';
import { mergeBatchStatistics, type VersionStatistics } from './version-statistics.js';
import type { VersionState, VersionStatus } from './version-status.js';

/** One version number of a model: its state, and the executor serving it when there is one. */
export interface VersionSlot {
  state: VersionState;
  reason: string;
  served?: ServedVersion;
  /** Kept across swaps: the version's totals include executors it replaced. */
  stats: VersionStatistics;
  lastUsedMs: number;
}

/** One model the node knows. */
export interface ModelEntry {
  versions: Map<string, VersionSlot>;
  routing: ModelRouting;
  /** Model-level failure (invalid config.json, unloaded, no versions). */
  failure?: string;
}

/** A version's statistics as {@link ModelManager.statistics} reports them. */
export interface ServedStatistics {
  loaded: LoadedVersion;
  executionCount: number;
  batchStats: BatchStatistics[];
}

/** A new slot, LOADING. */
export function loadingSlot(stats: VersionStatistics): VersionSlot {
  return { state: 'LOADING', reason: 'loading', stats, lastUsedMs: 0 };
}

/** The row {@link ModelManager.list} shows for a slot. */
export function slotStatus(model: string, version: string, slot: VersionSlot): VersionStatus {
  const executor = slot.served?.loaded.executor;
  return {
    model,
    version,
    state: slot.state,
    reason: slot.reason,
    devices: executor?.devices ?? [],
    notes: executor?.notes ?? [],
    inFlight: slot.served?.leases ?? 0,
    lastUsedMs: slot.lastUsedMs,
  };
}

/** Every model's failure row and version rows, sorted by model then version number. */
export function listStatuses(models: ReadonlyMap<string, ModelEntry>): VersionStatus[] {
  const out: VersionStatus[] = [];
  for (const [model, entry] of [...models.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (entry.failure !== undefined) out.push({ model, version: '', state: 'UNAVAILABLE', reason: entry.failure, devices: [], notes: [], inFlight: 0, lastUsedMs: 0 });
    const versions = [...entry.versions.entries()].sort(([a], [b]) => Number(a) - Number(b));
    for (const [version, slot] of versions) out.push(slotStatus(model, version, slot));
  }
  return out;
}

/** A served slot's totals: the live executor's counts plus those of the executors it replaced. */
export function servedStatistics(served: ServedVersion, stats: VersionStatistics): ServedStatistics {
  const executor = served.loaded.executor;
  return {
    loaded: served.loaded,
    executionCount: stats.retiredExecutions + executor.executionCount(),
    batchStats: mergeBatchStatistics(stats.retiredBatchStats, executor.batchStatistics()),
  };
}

/** The devices of every READY version, one list per version (for the models-loaded gauge). */
export function* readyVersionDevices(models: Iterable<ModelEntry>): Generator<readonly string[]> {
  for (const entry of models) {
    for (const slot of entry.versions.values()) {
      if (slot.state === 'READY' && slot.served) yield slot.served.loaded.executor.devices;
    }
  }
}
