import { InfermeshError, Code, invalidArgument, notFound, unavailable } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { createKeyedLock } from '../../../shared/concurrency/index.js';
import { createModelExecutor as defaultCreateExecutor, type CreateModelExecutorOptions, type ModelExecutor, type ModelSource } from '../execution/index.js';
import type { InferenceTelemetry } from '../telemetry/index.js';
import { normalizeRouting, routeVersion, type ModelRouting } from './canary-routing.js';
import { parseModelConfig } from '../../../shared/model-config/index.js';
import { listStatuses, loadingSlot, readyVersionDevices, servedStatistics, slotStatus, type ModelEntry, type ServedStatistics } from './model-entries.js';
import { ModelsLoadedGauge } from './model-metrics.js';
import { isVersionString, scanModelRepository, scanRepositoryModel, type RepositoryModel } from './model-repository.js';
import { loadModelVersion, type LoadedVersion, type VersionLoadContext } from './version-loader.js';
import { ServedVersion, type VersionLease } from './version-leases.js';
import { VersionStatistics } from './version-statistics.js';
import type { VersionStatus } from './version-status.js';
import { VersionRetirement } from './version-swap.js';

export type { ModelRouting } from './canary-routing.js';
export type { LoadedVersion } from './version-loader.js';
export type { VersionLease } from './version-leases.js';
export type { VersionState, VersionStatus } from './version-status.js';

/** Where a version's ONNX model comes from. */
export type VersionSource = ModelSource;

/** Options of {@link createModelManager}. */
export interface ModelManagerOptions {
  logger: Logger;
  /** A Triton-style model repository that `loadRepository()` / `loadFromRepository()` read. */
  repositoryDir?: string;
  /** Uniform [0,1) random source for canary routing. Default Math.random. */
  random?: () => number;
  /** Executor factory. Default: execution/createModelExecutor (the one the node uses). */
  createExecutor?: (options: CreateModelExecutorOptions) => Promise<ModelExecutor>;
  /** Tracer and metrics every version's executor and requests use. Default: none (no spans, no metrics). */
  telemetry?: InferenceTelemetry;
}

/** A version of a repository load that failed, with why. */
interface LoadFailure {
  version: string;
  error: InfermeshError;
}

/**
 * Holds every model version the node serves and routes requests to them. Loads
 * and unloads happen while the server runs: a version loaded again under the
 * same number is swapped atomically (requests in flight finish on the old
 * executor, new ones go to the new one, then the old one is closed).
 *
 * Methods for a registry follower: {@link loadVersion}, {@link unloadVersion},
 * {@link setRouting}, {@link list}. For the gRPC front end: {@link acquire}.
 *
 * The parts live beside it: routing in canary-routing.ts, leases in
 * version-leases.ts, building a version in version-loader.ts, closing replaced
 * ones in version-swap.ts, the models-loaded gauge in model-metrics.ts.
 */
export class ModelManager {
  readonly #logger: Logger;
  readonly #repositoryDir: string | undefined;
  readonly #random: () => number;
  readonly #loadContext: VersionLoadContext;
  readonly #models = new Map<string, ModelEntry>();
  readonly #locks = createKeyedLock();
  readonly #retirement: VersionRetirement;
  readonly #modelsLoaded: ModelsLoadedGauge;
  #closed: Promise<void> | undefined;

  constructor(options: ModelManagerOptions) {
    this.#logger = options.logger;
    this.#repositoryDir = options.repositoryDir;
    this.#random = options.random ?? Math.random;
    this.#loadContext = { logger: options.logger, telemetry: options.telemetry, createExecutor: options.createExecutor ?? defaultCreateExecutor };
    this.#retirement = new VersionRetirement(options.logger);
    this.#modelsLoaded = new ModelsLoadedGauge(options.telemetry?.metrics?.modelsLoaded);
  }

  /** The model repository directory, if any. */
  get repositoryDir(): string | undefined {
    return this.#repositoryDir;
  }

  /**
   * Loads every model of the repository. A model or version that cannot load is
   * recorded UNAVAILABLE with its reason (see {@link list}); the rest serve.
   */
  async loadRepository(): Promise<void> {
    const models = await scanModelRepository(this.#requireRepository());
    for (const model of models) await this.#loadRepositoryModel(model);
  }

  /**
   * (Re)loads one model from the repository (RepositoryModelLoad): every version
   * directory is loaded (or swapped in when already loaded), versions gone from
   * disk are unloaded. `configOverride` replaces config.json. Rejects NOT_FOUND
   * when the model is not in the repository, or with the first version's failure
   * when no version could load.
   */
  async loadFromRepository(model: string, configOverride?: unknown): Promise<void> {
    const scanned = await scanRepositoryModel(this.#requireRepository(), model);
    if (configOverride !== undefined) {
      try {
        scanned.config = parseModelConfig(configOverride, `config of '${model}'`);
        delete scanned.configError;
      } catch (err) {
        throw InfermeshError.from(err);
      }
    }
    const failures = await this.#loadRepositoryModel(scanned);
    const statuses = this.list().filter((s) => s.model === model);
    const first = failures[0];
    if (first) {
      // The load failed even where an older version keeps serving: say so, with the reason, and that it still serves.
      const serving = statuses.filter((s) => s.state === 'READY').map((s) => s.version);
      const still = serving.length > 0 ? `; version(s) ${serving.join(', ')} keep serving as before` : '';
      throw new InfermeshError(first.error.code, `model '${model}' version ${first.version} failed to load: ${first.error.message}${still}`, { cause: first.error });
    }
    if (!statuses.some((s) => s.state === 'READY')) {
      throw unavailable(`model '${model}' could not load: ${statuses.map((s) => s.reason).filter(Boolean).join('; ') || 'no versions'}`);
    }
  }

  /** Loads what the scan found; resolves with the versions that failed (each also recorded in its slot). */
  async #loadRepositoryModel(scanned: RepositoryModel): Promise<LoadFailure[]> {
    const entry = this.#entry(scanned.name);
    if (scanned.configError !== undefined || scanned.versions.length === 0) {
      entry.failure = scanned.configError ?? `no version directories (expected ${scanned.name}/<version>/model.onnx)`;
      this.#logger.warn('model cannot load', { model: scanned.name, reason: entry.failure });
      for (const version of [...entry.versions.keys()]) await this.unloadVersion(scanned.name, version);
      return [];
    }
    delete entry.failure;
    const onDisk = new Set(scanned.versions.map((v) => v.version));
    for (const version of [...entry.versions.keys()]) {
      if (!onDisk.has(version)) await this.unloadVersion(scanned.name, version);
    }
    const failures: LoadFailure[] = [];
    for (const v of scanned.versions) {
      try {
        await this.loadVersion(scanned.name, v.version, { modelPath: v.modelPath }, scanned.config);
      } catch (err) {
        // Recorded in the version's slot (UNAVAILABLE with its reason, unless an older load keeps serving); the other versions still load.
        failures.push({ version: v.version, error: InfermeshError.from(err, Code.UNAVAILABLE) });
      }
    }
    return failures;
  }

  /**
   * Loads `version` of `model` from a file path or ONNX bytes with `config` (the
   * config.json object or a parsed ModelConfig; default: all defaults). When the
   * version is already loaded the new one replaces it atomically once ready; if
   * the new one fails the old one keeps serving. Rejects with the reason
   * (INVALID_ARGUMENT for a bad config, UNAVAILABLE for an unreadable model),
   * which also stays in {@link list} for a version that was not serving.
   */
  loadVersion(model: string, version: string, source: VersionSource, config?: unknown): Promise<VersionStatus> {
    if (!model || model.includes('/')) return Promise.reject(invalidArgument(`model name '${model}' must be non-empty and contain no '/'`));
    if (!isVersionString(version)) return Promise.reject(invalidArgument(`version '${version}' of model '${model}' must be a decimal integer like "1"`));
    if (this.#closed) return Promise.reject(unavailable('the model manager is closed'));
    return this.#withLock(model, async () => {
      const entry = this.#entry(model);
      delete entry.failure;
      let slot = entry.versions.get(version);
      if (!slot) {
        slot = loadingSlot(new VersionStatistics());
        entry.versions.set(version, slot);
      } else if (!slot.served) {
        slot.state = 'LOADING';
        slot.reason = 'loading';
      }
      const started = Date.now();
      let loaded: LoadedVersion;
      try {
        loaded = await loadModelVersion(this.#loadContext, model, version, source, config, slot.stats);
      } catch (err) {
        const error = InfermeshError.from(err, Code.UNAVAILABLE);
        if (!slot.served) {
          slot.state = 'UNAVAILABLE';
          slot.reason = error.message;
        }
        this.#logger.warn('model version failed to load', { model, version, reason: error.message });
        throw error;
      }
      const previous = slot.served;
      slot.served = new ServedVersion(loaded);
      slot.state = 'READY';
      slot.reason = '';
      if (previous) void this.#retirement.retire(previous, slot.stats);
      this.#updateModelsLoaded();
      this.#logger.info('model version ready', { model, version, devices: loaded.executor.devices, loadMs: Date.now() - started, replaced: !!previous });
      return slotStatus(model, version, slot);
    });
  }

  /**
   * Unloads one version: new requests for it get NOT_FOUND at once, requests in
   * flight finish, then its executor closes. Resolves when it is closed. No-op
   * for an unknown version.
   */
  unloadVersion(model: string, version: string): Promise<void> {
    return this.#withLock(model, async () => {
      const entry = this.#models.get(model);
      const slot = entry?.versions.get(version);
      if (!entry || !slot) return;
      entry.versions.delete(version);
      if (slot.served) {
        const served = slot.served;
        delete slot.served;
        slot.state = 'UNLOADING';
        this.#updateModelsLoaded();
        await this.#retirement.retire(served, slot.stats);
        served.loaded.instruments.close();
        this.#logger.info('model version unloaded', { model, version });
      }
    });
  }

  /** Unloads every version of a model (RepositoryModelUnload); it stays listed as UNAVAILABLE 'unloaded'. NOT_FOUND when unknown. */
  async unloadModel(model: string): Promise<void> {
    const entry = this.#models.get(model);
    if (!entry) throw notFound(`model '${model}' is not known to this node`);
    for (const version of [...entry.versions.keys()]) await this.unloadVersion(model, version);
    entry.failure = 'unloaded';
  }

  /**
   * Sets which version serves requests that name none, and an optional canary
   * with a weight 0-100 (%). Takes effect for the next request. Versions need not
   * be loaded yet: until they are READY, such requests get UNAVAILABLE.
   */
  setRouting(model: string, routing: ModelRouting): void {
    const normalized = normalizeRouting(model, routing);
    this.#entry(model).routing = normalized;
  }

  /** The model's current routing ({} = highest READY version). */
  routing(model: string): ModelRouting {
    return { ...(this.#models.get(model)?.routing ?? {}) };
  }

  /**
   * Picks the version that serves a request and holds it until `release()`.
   * `version` '' or undefined follows the routing. Throws NOT_FOUND for an
   * unknown model or version, UNAVAILABLE when it is not READY.
   */
  acquire(model: string, version?: string): VersionLease {
    const entry = this.#models.get(model);
    if (!entry || (entry.versions.size === 0 && entry.failure === undefined)) throw notFound(`model '${model}' is not served by this node`);
    const chosen = version ? version : routeVersion(model, entry.routing, entry.versions, entry.failure, this.#random);
    const slot = entry.versions.get(chosen);
    if (!slot) {
      throw notFound(`model '${model}' has no version '${chosen}' (versions: ${[...entry.versions.keys()].join(', ') || 'none'})`);
    }
    const served = slot.served;
    if (slot.state !== 'READY' || !served) throw unavailable(`model '${model}' version ${chosen} is ${slot.state}: ${slot.reason}`);
    slot.lastUsedMs = Date.now();
    return served.lease();
  }

  /** Every model version and model-level failure, sorted by model then version. */
  list(): VersionStatus[] {
    return listStatuses(this.#models);
  }

  /** The loaded (READY) version, without leasing it: for metadata, config and statistics. Throws like {@link acquire}. */
  describe(model: string, version?: string): LoadedVersion {
    const lease = this.acquire(model, version);
    lease.release();
    return lease.version;
  }

  /** Versions of a model that have a slot (any state), ascending. */
  versionsOf(model: string): string[] {
    return [...(this.#models.get(model)?.versions.keys() ?? [])].sort((a, b) => Number(a) - Number(b));
  }

  /** Statistics of READY versions: all models when `model` is '', all versions when `version` is ''. */
  statistics(model = '', version = ''): ServedStatistics[] {
    if (model && !this.#models.has(model)) throw notFound(`model '${model}' is not served by this node`);
    const out: ServedStatistics[] = [];
    for (const [name, entry] of this.#models) {
      if (model && name !== model) continue;
      for (const [v, slot] of entry.versions) {
        if ((version && v !== version) || !slot.served) continue;
        out.push(servedStatistics(slot.served, slot.stats));
      }
    }
    if (model && version && out.length === 0) throw notFound(`model '${model}' has no loaded version '${version}'`);
    return out;
  }

  /** Unloads everything (in-flight requests finish first). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      for (const [model, entry] of this.#models) {
        for (const version of [...entry.versions.keys()]) await this.unloadVersion(model, version);
      }
      await this.#retirement.settled();
    })();
    return this.#closed;
  }

  #updateModelsLoaded(): void {
    this.#modelsLoaded.update(readyVersionDevices(this.#models.values()));
  }

  #entry(model: string): ModelEntry {
    let entry = this.#models.get(model);
    if (!entry) this.#models.set(model, (entry = { versions: new Map(), routing: {} }));
    return entry;
  }

  #requireRepository(): string {
    if (!this.#repositoryDir) throw new InfermeshError(Code.FAILED_PRECONDITION, 'this node serves no model repository');
    return this.#repositoryDir;
  }

  /** Runs loads and unloads of one model one at a time. */
  #withLock<T>(model: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(model, fn);
  }
}

/** Creates a {@link ModelManager}. */
export function createModelManager(options: ModelManagerOptions): ModelManager {
  return new ModelManager(options);
}
