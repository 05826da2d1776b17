import type { NatsConnection } from '@nats-io/nats-core';
import type { Tracer } from '@opentelemetry/api';
import { Code, InfermeshError, invalidArgument } from '../../../shared/errors/index.js';
import type { Model__Output } from '../../../shared/generated/infermesh/registry/v1/Model.js';
import type { Logger } from '../../../shared/logging/index.js';
import { createRegistryEventFollower, type FollowedRegistryEvent, type RegistryClient, type RegistryEventFollower } from '../../../shared/registry-client/index.js';
import { Backoff, sleep, type BackoffOptions } from '../../../shared/rpc/backoff.js';
import { createKeyedLock } from '../../../shared/concurrency/index.js';
import { isVersionString, type ModelManager } from '../models/index.js';
import type { InstanceGroupConfig } from '../../../shared/model-config/index.js';
import type { ArtifactCache } from './artifact-cache.js';
import { raceDeadline } from './deadline.js';
import { desiredModel, routingFor, unloadsFor } from './model-reconcile.js';
import { loadOnDemand } from './on-demand-load.js';
import type { Placement } from './placement.js';
import { VersionLoader } from './version-loader.js';


/** Defaults of {@link RegistryFollowerOptions}. */
export const DEFAULT_REGISTRY_FOLLOWER_OPTIONS: Readonly<Required<Pick<RegistryFollowerOptions, DefaultedOption>>> = {
  /**
   * JetStream ack wait of the durable consumer: an event delivered to a node that died is redelivered
   * after it (a long load keeps it alive with `working()`).
   */
  ackWaitMs: 10_000,
  /** A durable consumer unused this long is removed by the server (a node that never came back). */
  durableInactiveMs: 7 * 24 * 3_600_000,
  /** Deadline of one registry call. */
  registryCallTimeoutMs: 30_000,
};

type DefaultedOption = 'ackWaitMs' | 'durableInactiveMs' | 'registryCallTimeoutMs';

/** Options of {@link createRegistryFollower}. */
export interface RegistryFollowerOptions {
  nc: NatsConnection;
  registry: RegistryClient;
  manager: ModelManager;
  cache: ArtifactCache;
  /** Names the durable consumer (`inference-<nodeId>`), so a restarted node resumes where it stopped. */
  nodeId: string;
  logger: Logger;
  /** Bytes of model artifacts this node may hold; 0 (default) = no limit. Least recently used on-demand versions are evicted first. */
  memoryBudgetBytes?: number;
  /**
   * Placement of models whose production version's config says `replicas: N`:
   * the follower loads such a model only where placement says this node holds
   * a replica, and unloads it when the replica moves away. Default: none
   * (every node loads every aliased model).
   */
  placement?: Pick<Placement, 'decide'>;
  /** Copies of the REGISTRY stream when this follower is the one to create it. Default: the server's. */
  streamReplicas?: number;
  /** Devices of versions whose config names no `instances` (e.g. `[{ device: 'cuda:0', count: 1 }]` on a GPU node). Default: the config's own default (cpu). */
  defaultInstances?: InstanceGroupConfig[];
  /** Pauses before retrying a registry or NATS failure (the first sync, the consumer, an event). Default: DEFAULT_BACKOFF (250 ms doubling to 5 s). */
  backoff?: BackoffOptions;
  ackWaitMs?: number;
  durableInactiveMs?: number;
  registryCallTimeoutMs?: number;
  /**
   * Traces the handling of each registry event in a CONSUMER span, a child of
   * the `traceparent` the registry published it with (so a promotion and its
   * load on every node are one trace). Default: none.
   */
  tracer?: Tracer;
}

/**
 * Keeps a node's models in step with the registry. At start it reads every
 * model's aliases and loads what `production` and `canary` point at; then it
 * follows the JetStream stream REGISTRY with a durable consumer, one event at
 * a time, and acks an event only after it was applied (or definitively
 * rejected), so none is lost across NATS, registry or node restarts.
 *
 * Applying an event re-reads that model from the registry and reconciles
 * (state, not deltas): replays and reorderings cannot roll a model back.
 * New versions are downloaded into the artifact cache, loaded and warmed up,
 * then routed to (the manager swaps atomically: requests in flight finish on
 * the old version); versions no longer aliased or deleted are unloaded.
 */
export interface RegistryFollower {
  /** The durable consumer's name on the REGISTRY stream. */
  readonly durableName: string;
  /** Starts the first sync and the event loop in the background (both retry until they succeed or close()). */
  start(): void;
  /** Resolves once the registry's state at start has been applied. */
  synced(): Promise<void>;
  /**
   * Makes `model` (`version`, or what its aliases route to when undefined)
   * READY on this node, loading it from the registry when needed; waits at
   * most until `deadlineMs`. Rejects NOT_FOUND when the registry does not know
   * it, UNAVAILABLE when the registry cannot be reached, RESOURCE_EXHAUSTED
   * when it does not fit the memory budget, DEADLINE_EXCEEDED or CANCELLED.
   */
  ensureAvailable(model: string, version: string | undefined, options: { deadlineMs: number; signal?: AbortSignal }): Promise<void>;
  /** Bytes of the artifacts of the versions this follower loaded. */
  modelBytes(): number;
  /** Re-reads `model` from the registry and reconciles it now (placement moved a replica here or away). */
  refresh(model: string): Promise<void>;
  /** Placed models (replicas: N) that this node holds no replica of: requests for them go to the nodes that do. */
  placedElsewhere(model: string): boolean;
  /** Stops following (an event being applied is not acked and comes again). Idempotent. */
  close(): Promise<void>;
}

/** Creates a {@link RegistryFollower}. */
export function createRegistryFollower(options: RegistryFollowerOptions): RegistryFollower {
  return new Follower(options);
}

class Follower implements RegistryFollower {
  readonly durableName: string;
  readonly #o: RegistryFollowerOptions & Required<Pick<RegistryFollowerOptions, DefaultedOption>>;
  readonly #log: Logger;
  readonly #loader: VersionLoader;
  readonly #events: RegistryEventFollower;
  /** Placed models this node holds no replica of. */
  readonly #elsewhere = new Set<string>();
  /** model -> versions an alias (production, canary) points at. */
  readonly #aliased = new Map<string, ReadonlySet<string>>();
  readonly #locks = createKeyedLock();
  readonly #stop = new AbortController();
  #syncing: Promise<void> | undefined;
  #resolveSynced!: () => void;
  readonly #synced = new Promise<void>((resolve) => (this.#resolveSynced = resolve));
  #closed: Promise<void> | undefined;

  constructor(options: RegistryFollowerOptions) {
    this.#o = { ...DEFAULT_REGISTRY_FOLLOWER_OPTIONS, ...definedOnly(options) };
    this.#log = options.logger;
    this.durableName = `inference-${options.nodeId}`;
    this.#loader = new VersionLoader({
      manager: options.manager,
      cache: options.cache,
      logger: options.logger,
      memoryBudgetBytes: options.memoryBudgetBytes ?? 0,
      ...(options.defaultInstances ? { defaultInstances: options.defaultInstances } : {}),
      isAliased: (model, version) => this.#aliased.get(model)?.has(version) ?? false,
      signal: this.#stop.signal,
    });
    this.#events = createRegistryEventFollower({
      nc: options.nc,
      durableName: this.durableName,
      handle: (e) => this.#apply(e),
      logger: options.logger,
      // A consumer created now delivers what was published since this process started: the first sync covers the rest.
      startAt: new Date(),
      ...pick(this.#o, ['streamReplicas', 'backoff', 'tracer', 'ackWaitMs', 'durableInactiveMs']),
    });
  }

  start(): void {
    if (this.#syncing || this.#closed) return;
    this.#syncing = this.#syncAll();
    this.#events.start();
  }

  synced(): Promise<void> {
    return this.#synced;
  }

  ensureAvailable(model: string, version: string | undefined, options: { deadlineMs: number; signal?: AbortSignal }): Promise<void> {
    if (version !== undefined && !isVersionString(version)) return Promise.reject(invalidArgument(`version '${version}' of model '${model}' must be a decimal integer like "1"`));
    // The load is shared (a later request for the same version finds it READY); each caller waits within its own deadline.
    const work = this.#withLock(model, () =>
      loadOnDemand(
        {
          registry: this.#o.registry,
          manager: this.#o.manager,
          loader: this.#loader,
          reconcile: (m) => this.#reconcile(m),
          placedElsewhere: (m) => this.#elsewhere.has(m),
          callOptions: () => this.#callOptions(),
        },
        model,
        version,
      ),
    );
    return raceDeadline(work, options.deadlineMs, options.signal, `loading model '${model}'${version ? ` version ${version}` : ''}`);
  }

  modelBytes(): number {
    return this.#loader.totalBytes();
  }

  refresh(model: string): Promise<void> {
    return this.#applyOnce(model);
  }

  placedElsewhere(model: string): boolean {
    return this.#elsewhere.has(model);
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#stop.abort();
      await Promise.allSettled([this.#events.close(), this.#syncing]);
    })();
    return this.#closed;
  }

  /** The first sync: every model the registry knows, retried with backoff until it went through once. */
  async #syncAll(): Promise<void> {
    const backoff = new Backoff(this.#o.backoff);
    while (!this.#stop.signal.aborted) {
      try {
        const names: string[] = [];
        for await (const m of this.#o.registry.listAllModels({}, this.#callOptions())) names.push(m.name);
        for (const name of names) await this.#applyOnce(name);
        this.#log.info('registry sync done', { models: names.length });
        this.#resolveSynced();
        return;
      } catch (err) {
        if (this.#stop.signal.aborted) return;
        const retryInMs = backoff.next();
        this.#log.warn('registry sync failed; retrying', { err, retryInMs });
        await sleep(retryInMs, this.#stop.signal);
      }
    }
  }

  /** Applies one registry event; a transient failure rejects, so the event comes again after a pause. */
  async #apply({ event }: FollowedRegistryEvent): Promise<void> {
    const body = event.event ? (event[event.event] as { model?: string } | null | undefined) : undefined;
    const model = body?.model ?? '';
    if (!model) return;
    await this.#applyOnce(model);
    this.#log.debug('registry event applied', { model, event: event.event, sequence: event.sequence });
  }

  /** Reconciles one model; definitive failures are logged and count as applied, transient ones reject. */
  async #applyOnce(model: string): Promise<void> {
    try {
      await this.#withLock(model, () => this.#reconcile(model));
    } catch (err) {
      if (!this.#loader.isDefinitive(err)) throw err;
      this.#log.error('registry change rejected by this node', { model, err });
    }
  }

  /** Brings one model in line with the registry: loads what its aliases want here, routes, unloads the rest. */
  async #reconcile(model: string): Promise<void> {
    let info: Model__Output | undefined;
    try {
      info = await this.#o.registry.getModel(model, this.#callOptions());
    } catch (err) {
      if (!(err instanceof InfermeshError && err.code === Code.NOT_FOUND)) throw err;
    }
    const desired = desiredModel(info);
    this.#aliased.set(model, desired.aliased);

    // replicas: N in the production version's config places the model on N nodes; elsewhere it is not loaded.
    const here = !this.#o.placement || (await this.#o.placement.decide(model, desired.replicas));
    if (here) this.#elsewhere.delete(model);
    else this.#elsewhere.add(model);

    const failed = new Set<string>();
    for (const v of here ? desired.aliased : []) {
      const mv = desired.versions.get(v);
      if (!mv) continue;
      try {
        await this.#loader.load(mv, false);
      } catch (err) {
        if (!this.#loader.isDefinitive(err)) throw err;
        this.#log.error('aliased version cannot load on this node', { model, version: v, err });
        failed.add(v);
      }
    }

    const manager = this.#o.manager;
    if (!here && manager.versionsOf(model).length > 0) manager.setRouting(model, {});
    if (desired.known && here) {
      const previous = manager.routing(model).default;
      manager.setRouting(model, routingFor(desired, failed, { default: previous, defaultReady: previous !== undefined && this.#loader.isReady(model, previous) }));
    }

    const unloads = unloadsFor([...this.#loader.held(model)], desired, { here, routedDefault: manager.routing(model).default });
    for (const { version, reason } of unloads) {
      await this.#loader.unload(model, version);
      this.#log.info('unloaded model version', { model, version, reason });
    }
  }

  #callOptions() {
    return { timeoutMs: this.#o.registryCallTimeoutMs, signal: this.#stop.signal };
  }

  /** Runs the reconciles and loads of one model one at a time. */
  #withLock<T>(model: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(model, fn);
  }
}

/** The members of `o` named in `keys` that are defined. */
function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Partial<Pick<T, K>>;
}

/** `options` without its undefined members, so they do not override defaults. */
function definedOnly<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as T;
}
