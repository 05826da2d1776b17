import { Code, InfermeshError, invalidArgument, resourceExhausted } from '../../../shared/errors/index.js';
import type { ModelVersion__Output } from '../../../shared/generated/infermesh/registry/v1/ModelVersion.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { ModelManager } from '../models/index.js';
import type { InstanceGroupConfig } from '../../../shared/model-config/index.js';
import type { ArtifactCache } from './artifact-cache.js';
import { pickEvictions } from './lru-eviction.js';
import type { HeldVersion } from './model-reconcile.js';

/** What the loader loaded of one version. */
interface Held extends HeldVersion {
  sha256: string;
  sizeBytes: number;
}

/** Options of {@link VersionLoader}. */
export interface VersionLoaderOptions {
  manager: ModelManager;
  cache: ArtifactCache;
  logger: Logger;
  /** Bytes of artifacts the node may hold; 0 = no limit. */
  memoryBudgetBytes: number;
  /** Devices of versions whose config names no `instances`. Default: the config's own default. */
  defaultInstances?: InstanceGroupConfig[];
  /** Whether a version is aliased (never evicted). */
  isAliased: (model: string, version: string) => boolean;
  /** Ends downloads when the follower closes. */
  signal: AbortSignal;
}

/**
 * Loads registry versions into the model manager and remembers what it loaded: downloads through
 * the artifact cache, applies the node's default devices, and keeps the memory budget by evicting
 * least recently used on-demand versions. Errors that retrying cannot fix (a version that fails
 * to load, an over-budget on-demand load) are marked: {@link isDefinitive}.
 */
export class VersionLoader {
  readonly #o: VersionLoaderOptions;
  /** model -> version -> what was loaded. */
  readonly #held = new Map<string, Map<string, Held>>();
  readonly #definitive = new WeakSet<object>();

  constructor(options: VersionLoaderOptions) {
    this.#o = options;
  }

  /** Whether `err` came from a load that would fail the same way again. */
  isDefinitive(err: unknown): boolean {
    return typeof err === 'object' && err !== null && this.#definitive.has(err);
  }

  /** The versions of `model` this loader holds. */
  held(model: string): ReadonlyMap<string, HeldVersion> {
    return this.#held.get(model) ?? new Map();
  }

  /** Bytes of everything this loader holds. */
  totalBytes(): number {
    let total = 0;
    for (const versions of this.#held.values()) for (const h of versions.values()) total += h.sizeBytes;
    return total;
  }

  isReady(model: string, version: string): boolean {
    return this.#o.manager.list().some((s) => s.model === model && s.version === version && s.state === 'READY');
  }

  /** Downloads (through the cache), loads and warms up one version, unless it is already READY with the same artifact. */
  async load(mv: ModelVersion__Output, onDemand: boolean): Promise<void> {
    const model = mv.model;
    const version = String(mv.version);
    const versions = this.#held.get(model) ?? new Map<string, Held>();
    this.#held.set(model, versions);
    const held = versions.get(version);
    if (held && held.sha256 === mv.sha256 && this.isReady(model, version)) {
      if (!onDemand) held.onDemand = false;
      return;
    }
    const sizeBytes = Number(mv.sizeBytes);
    await this.#makeRoom(sizeBytes, model, version, onDemand);
    const path = await this.#o.cache.fetch({ model, version: mv.version, sha256: mv.sha256 }, { signal: this.#o.signal });
    const config = this.#configOf(mv);
    try {
      await this.#o.manager.loadVersion(model, version, { modelPath: path }, config);
    } catch (err) {
      // The same bytes and config would fail again: the reason stays in the manager's list (UNAVAILABLE).
      throw this.#markDefinitive(InfermeshError.from(err, Code.UNAVAILABLE));
    }
    versions.set(version, { sha256: mv.sha256, sizeBytes, onDemand: (held?.onDemand ?? true) && onDemand });
  }

  /** Unloads a held version and forgets it. */
  async unload(model: string, version: string): Promise<void> {
    await this.#o.manager.unloadVersion(model, version);
    this.#held.get(model)?.delete(version);
  }

  /** The version's serving config, with the node's default devices when it names none. */
  #configOf(mv: ModelVersion__Output): unknown {
    let config: unknown;
    try {
      config = mv.configJson ? JSON.parse(mv.configJson) : {};
    } catch (err) {
      throw this.#markDefinitive(invalidArgument(`config of ${mv.model} version ${mv.version} is not JSON: ${(err as Error).message}`, err));
    }
    const instances = this.#o.defaultInstances;
    if (instances && typeof config === 'object' && config !== null && !Array.isArray(config) && !('instances' in config)) return { ...config, instances };
    return config;
  }

  /** Evicts least recently used on-demand versions until `sizeBytes` more fits the budget. */
  async #makeRoom(sizeBytes: number, model: string, version: string, onDemand: boolean): Promise<void> {
    const budget = this.#o.memoryBudgetBytes;
    if (budget <= 0) return;
    const excess = this.totalBytes() + sizeBytes - budget;
    if (excess <= 0) return;
    const lastUsed = new Map(this.#o.manager.list().map((s) => [`${s.model}/${s.version}`, s.lastUsedMs]));
    const candidates = [...this.#held]
      .flatMap(([m, versions]) => [...versions].map(([v, h]) => ({ model: m, version: v, held: h })))
      .filter((c) => c.held.onDemand && !this.#o.isAliased(c.model, c.version) && !(c.model === model && c.version === version))
      .map((c) => ({ model: c.model, version: c.version, sizeBytes: c.held.sizeBytes, lastUsedMs: lastUsed.get(`${c.model}/${c.version}`) ?? 0 }));
    const plan = pickEvictions(candidates, excess);
    for (const victim of plan.victims) {
      await this.unload(victim.model, victim.version);
      this.#o.logger.info('evicted model version (memory budget)', { model: victim.model, version: victim.version, bytes: victim.sizeBytes });
    }
    if (plan.excessBytes <= 0) return;
    if (onDemand) {
      throw this.#markDefinitive(resourceExhausted(`model '${model}' version ${version} (${sizeBytes} bytes) does not fit this node's memory budget of ${budget} bytes`));
    }
    this.#o.logger.warn('aliased version loads beyond the memory budget', { model, version, sizeBytes, budgetBytes: budget });
  }

  #markDefinitive(err: InfermeshError): InfermeshError {
    this.#definitive.add(err);
    return err;
  }
}
