import { readFile } from 'node:fs/promises';
import { InfermeshError, Code, invalidArgument, notFound, unavailable } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { readOnnxSignature, type ModelSignature } from '../../../shared/onnx/index.js';
import { createModelExecutor as defaultCreateExecutor, type CreateModelExecutorOptions, type ModelExecutor } from '../execution/index.js';
import { checkConfigAgainstSignature, parseModelConfig, type ModelConfig } from '../../../shared/model-config/index.js';
import { isVersionString, scanModelRepository, scanRepositoryModel, type RepositoryModel } from './model-repository.js';
import { VersionStatistics, mergeBatchStatistics } from './version-statistics.js';
import { createKeyedLock } from '../../../shared/concurrency/index.js';
import { createVersionInstruments, type InferenceTelemetry, type VersionInstruments } from '../telemetry/index.js';
import type { BatchStatistics, ModelSource } from '../execution/index.js';

/** Lifecycle state of a model version, as RepositoryIndex reports it. */
export type VersionState = 'LOADING' | 'READY' | 'UNAVAILABLE' | 'UNLOADING';

/** Where a version's ONNX model comes from. */
export type VersionSource = ModelSource;

/** A version that serves requests: its signature, config, executor and statistics. */
export interface LoadedVersion {
  readonly model: string;
  readonly version: string;
  readonly signature: ModelSignature;
  readonly config: ModelConfig;
  readonly executor: ModelExecutor;
  readonly stats: VersionStatistics;
  /** Its tracer, span attributes and metrics, bound to this version. */
  readonly instruments: VersionInstruments;
}

/** A version held for one request; `release()` once the request is answered (idempotent). */
export interface VersionLease {
  readonly version: LoadedVersion;
  release(): void;
}

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

/**
 * Which version serves requests that name none. `default` undefined = the
 * highest READY version; `canary` takes `canaryWeight`% (0-100) of those requests.
 */
export interface ModelRouting {
  default?: string;
  canary?: string;
  canaryWeight?: number;
}

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

interface Served {
  loaded: LoadedVersion;
  leases: number;
  onIdle?: () => void;
}

interface VersionSlot {
  state: VersionState;
  reason: string;
  served?: Served;
  stats: VersionStatistics;
  lastUsedMs: number;
}

interface ModelEntry {
  versions: Map<string, VersionSlot>;
  routing: ModelRouting;
  /** Model-level failure (invalid config.json, unloaded, no versions). */
  failure?: string;
}

/**
 * Holds every model version the node serves and routes requests to them. Loads
 * and unloads happen while the server runs: a version loaded again under the
 * same number is swapped atomically (requests in flight finish on the old
 * executor, new ones go to the new one, then the old one is closed).
 *
 * Methods for a registry follower: {@link loadVersion}, {@link unloadVersion},
 * {@link setRouting}, {@link list}. For the gRPC front end: {@link acquire}.
 */
export class ModelManager {
  readonly #logger: Logger;
  readonly #repositoryDir: string | undefined;
  readonly #random: () => number;
  readonly #createExecutor: (options: CreateModelExecutorOptions) => Promise<ModelExecutor>;
  readonly #models = new Map<string, ModelEntry>();
  readonly #locks = createKeyedLock();
  readonly #retiring = new Set<Promise<void>>();
  readonly #telemetry: InferenceTelemetry | undefined;
  /** Devices the models-loaded gauge has shown, so one that empties drops to 0. */
  readonly #gaugedDevices = new Set<string>();
  #closed: Promise<void> | undefined;

  constructor(options: ModelManagerOptions) {
    this.#logger = options.logger;
    this.#repositoryDir = options.repositoryDir;
    this.#random = options.random ?? Math.random;
    this.#createExecutor = options.createExecutor ?? defaultCreateExecutor;
    this.#telemetry = options.telemetry;
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
  async #loadRepositoryModel(scanned: RepositoryModel): Promise<Array<{ version: string; error: InfermeshError }>> {
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
    const failures: Array<{ version: string; error: InfermeshError }> = [];
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
        slot = { state: 'LOADING', reason: 'loading', stats: new VersionStatistics(), lastUsedMs: 0 };
        entry.versions.set(version, slot);
      } else if (!slot.served) {
        slot.state = 'LOADING';
        slot.reason = 'loading';
      }
      const started = Date.now();
      let loaded: LoadedVersion;
      try {
        loaded = await this.#build(model, version, source, config, slot.stats);
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
      slot.served = { loaded, leases: 0 };
      slot.state = 'READY';
      slot.reason = '';
      if (previous) void this.#retire(previous, slot.stats);
      this.#updateModelsLoaded();
      this.#logger.info('model version ready', { model, version, devices: loaded.executor.devices, loadMs: Date.now() - started, replaced: !!previous });
      return this.#status(model, version, slot);
    });
  }

  async #build(model: string, version: string, source: VersionSource, rawConfig: unknown, stats: VersionStatistics): Promise<LoadedVersion> {
    let bytes: Uint8Array;
    if ('modelBytes' in source) bytes = source.modelBytes;
    else {
      try {
        bytes = await readFile(source.modelPath);
      } catch (err) {
        throw unavailable(`cannot read ${source.modelPath}: ${(err as Error).message}`, err);
      }
    }
    let signature: ModelSignature;
    try {
      signature = readOnnxSignature(bytes);
    } catch (err) {
      throw unavailable(`${'modelPath' in source ? source.modelPath : 'model bytes'}: ${(err as Error).message}`, err);
    }
    const config = parseModelConfig(rawConfig, `config of '${model}'`);
    checkConfigAgainstSignature(config, signature, `config of '${model}'`);
    const instruments = createVersionInstruments(this.#telemetry, model, version);
    const executor = await this.#createExecutor({
      ...('modelPath' in source ? { modelPath: source.modelPath } : { modelBytes: bytes }),
      config,
      signature,
      logger: this.#logger.child({ model, version }),
      instruments,
    });
    return { model, version, signature, config, executor, stats, instruments };
  }

  /** Closes a replaced or unloaded executor once its last lease is released. */
  #retire(served: Served, stats: VersionStatistics): Promise<void> {
    const done = (async () => {
      if (served.leases > 0) await new Promise<void>((resolve) => (served.onIdle = resolve));
      const executor = served.loaded.executor;
      await executor.close();
      stats.retire(executor.executionCount(), executor.batchStatistics());
    })().catch((err: unknown) => this.#logger.error('closing a model executor failed', { err }));
    this.#retiring.add(done);
    void done.finally(() => this.#retiring.delete(done));
    return done;
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
        await this.#retire(served, slot.stats);
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
    for (const v of [routing.default, routing.canary]) {
      if (v !== undefined && !isVersionString(v)) throw invalidArgument(`routing of '${model}': version '${v}' must be a decimal integer`);
    }
    const weight = routing.canaryWeight ?? (routing.canary !== undefined ? 0 : undefined);
    if (weight !== undefined && (!Number.isFinite(weight) || weight < 0 || weight > 100)) {
      throw invalidArgument(`routing of '${model}': canaryWeight must be 0-100, got ${weight}`);
    }
    const entry = this.#entry(model);
    entry.routing = { ...routing, ...(weight !== undefined ? { canaryWeight: weight } : {}) };
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
    const chosen = version ? version : this.#route(model, entry);
    const slot = entry.versions.get(chosen);
    if (!slot) {
      throw notFound(`model '${model}' has no version '${chosen}' (versions: ${[...entry.versions.keys()].join(', ') || 'none'})`);
    }
    const served = slot.served;
    if (slot.state !== 'READY' || !served) throw unavailable(`model '${model}' version ${chosen} is ${slot.state}: ${slot.reason}`);
    served.leases++;
    slot.lastUsedMs = Date.now();
    let released = false;
    return {
      version: served.loaded,
      release: () => {
        if (released) return;
        released = true;
        if (--served.leases === 0) served.onIdle?.();
      },
    };
  }

  #route(model: string, entry: ModelEntry): string {
    const { default: def, canary, canaryWeight = 0 } = entry.routing;
    if (canary !== undefined && canaryWeight > 0 && entry.versions.get(canary)?.state === 'READY' && this.#random() * 100 < canaryWeight) return canary;
    if (def !== undefined) return def;
    const ready = [...entry.versions.entries()].filter(([, s]) => s.state === 'READY').map(([v]) => v);
    if (ready.length === 0) {
      const reasons = [entry.failure, ...[...entry.versions.entries()].map(([v, s]) => `version ${v} is ${s.state}: ${s.reason}`)].filter(Boolean);
      throw unavailable(`model '${model}' has no ready version (${reasons.join('; ') || 'none loaded'})`);
    }
    return ready.reduce((a, b) => (Number(b) > Number(a) ? b : a));
  }

  /** Every model version and model-level failure, sorted by model then version. */
  list(): VersionStatus[] {
    const out: VersionStatus[] = [];
    for (const [model, entry] of [...this.#models.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      if (entry.failure !== undefined) out.push({ model, version: '', state: 'UNAVAILABLE', reason: entry.failure, devices: [], notes: [], inFlight: 0, lastUsedMs: 0 });
      const versions = [...entry.versions.entries()].sort(([a], [b]) => Number(a) - Number(b));
      for (const [version, slot] of versions) out.push(this.#status(model, version, slot));
    }
    return out;
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
  statistics(model = '', version = ''): Array<{ loaded: LoadedVersion; executionCount: number; batchStats: BatchStatistics[] }> {
    if (model && !this.#models.has(model)) throw notFound(`model '${model}' is not served by this node`);
    const out = [];
    for (const [name, entry] of this.#models) {
      if (model && name !== model) continue;
      for (const [v, slot] of entry.versions) {
        if ((version && v !== version) || !slot.served) continue;
        const executor = slot.served.loaded.executor;
        out.push({
          loaded: slot.served.loaded,
          executionCount: slot.stats.retiredExecutions + executor.executionCount(),
          batchStats: mergeBatchStatistics(slot.stats.retiredBatchStats, executor.batchStatistics()),
        });
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
      await Promise.allSettled([...this.#retiring]);
    })();
    return this.#closed;
  }

  #status(model: string, version: string, slot: VersionSlot): VersionStatus {
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

  /** Sets `infermesh_models_loaded{device}`: READY versions with an instance on each device. */
  #updateModelsLoaded(): void {
    const gauge = this.#telemetry?.metrics?.modelsLoaded;
    if (!gauge) return;
    const counts = new Map<string, number>([...this.#gaugedDevices].map((d) => [d, 0]));
    for (const entry of this.#models.values()) {
      for (const slot of entry.versions.values()) {
        if (slot.state !== 'READY' || !slot.served) continue;
        for (const device of new Set(slot.served.loaded.executor.devices)) counts.set(device, (counts.get(device) ?? 0) + 1);
      }
    }
    for (const [device, n] of counts) {
      this.#gaugedDevices.add(device);
      gauge.set({ device }, n);
    }
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
