import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type Consumer, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { Code, InfermeshError, invalidArgument, notFound, resourceExhausted } from '../../../shared/errors/index.js';
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from '../../../shared/logging/index.js';
import { withConsumeSpan } from '../../../shared/telemetry/index.js';
import { ensureStream } from '../../../shared/nats/index.js';
import type { Model__Output } from '../../../shared/generated/infermesh/registry/v1/Model.js';
import type { ModelVersion__Output } from '../../../shared/generated/infermesh/registry/v1/ModelVersion.js';
import type { RegistryEvent__Output } from '../../../shared/generated/infermesh/events/v1/RegistryEvent.js';
import { REGISTRY_STREAM, REGISTRY_STREAM_SPEC, REGISTRY_SUBJECTS, decodeRegistryEvent, type RegistryClient } from '../../../shared/registry-client/index.js';
import { createKeyedLock } from '../../../shared/concurrency/index.js';
import { isVersionString, MAX_MODEL_REPLICAS, type InstanceGroupConfig, type ModelManager, type ModelRouting } from '../models/index.js';
import type { ArtifactCache } from './artifact-cache.js';
import type { Placement } from './placement.js';
import { raceDeadline, sleep } from './deadline.js';

/** Defaults of {@link RegistryFollowerOptions}. */
export const DEFAULT_REGISTRY_FOLLOWER_OPTIONS = {
  /** First pause before retrying a registry or NATS failure; doubles up to `retryMaxMs`. */
  retryInitialMs: 250,
  retryMaxMs: 5000,
  /**
   * JetStream ack wait of the durable consumer: an event delivered to a node that died is redelivered
   * after it (a long load keeps it alive with `working()`).
   */
  ackWaitMs: 10_000,
  /** A durable consumer unused this long is removed by the server (a node that never came back). */
  durableInactiveMs: 7 * 24 * 3_600_000,
  /** Deadline of one registry call. */
  registryCallTimeoutMs: 30_000,
} as const;

/** Expiry of one pull request of the consumer, in ms. */
const PULL_EXPIRES_MS = 5000;

/** The aliases a node serves: `production` takes unversioned requests, `canary` a weighted share of them. */
export const SERVED_ALIASES = { production: 'production', canary: 'canary' } as const;

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
  retryInitialMs?: number;
  retryMaxMs?: number;
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

interface Held {
  sha256: string;
  sizeBytes: number;
  /** Loaded for a request that named it, not for an alias: evictable, and kept when no alias points at it. */
  onDemand: boolean;
}

/** Creates a {@link RegistryFollower}. */
export function createRegistryFollower(options: RegistryFollowerOptions): RegistryFollower {
  return new Follower(options);
}

class Follower implements RegistryFollower {
  readonly durableName: string;
  readonly #o: Required<Omit<RegistryFollowerOptions, 'memoryBudgetBytes' | 'tracer' | 'defaultInstances' | 'streamReplicas' | 'placement'>> & {
    memoryBudgetBytes: number;
    defaultInstances?: InstanceGroupConfig[];
    streamReplicas?: number;
    placement?: Pick<Placement, 'decide'>;
  };
  readonly #log: Logger;
  readonly #tracer: Tracer | undefined;
  /** model -> version -> what this follower loaded. */
  readonly #held = new Map<string, Map<string, Held>>();
  /** Placed models this node holds no replica of. */
  readonly #elsewhere = new Set<string>();
  /** model -> versions an alias (production, canary) points at. */
  readonly #aliased = new Map<string, Set<string>>();
  readonly #locks = createKeyedLock();
  /** Errors that retrying cannot fix (a version that fails to load, an over-budget load). */
  readonly #definitive = new WeakSet<object>();
  readonly #stop = new AbortController();
  readonly #startedAtMs = Date.now();
  #messages: ConsumerMessages | undefined;
  #running: Promise<void> | undefined;
  #syncing: Promise<void> | undefined;
  #resolveSynced!: () => void;
  readonly #synced = new Promise<void>((resolve) => (this.#resolveSynced = resolve));
  #closed: Promise<void> | undefined;

  constructor(options: RegistryFollowerOptions) {
    this.#o = { ...DEFAULT_REGISTRY_FOLLOWER_OPTIONS, ...definedOnly(options), memoryBudgetBytes: options.memoryBudgetBytes ?? 0 };
    this.#log = options.logger;
    this.#tracer = options.tracer;
    this.durableName = `inference-${options.nodeId}`;
  }

  start(): void {
    if (this.#running || this.#closed) return;
    this.#syncing = this.#syncAll();
    this.#running = this.#consumeLoop();
  }

  synced(): Promise<void> {
    return this.#synced;
  }

  ensureAvailable(model: string, version: string | undefined, options: { deadlineMs: number; signal?: AbortSignal }): Promise<void> {
    if (version !== undefined && !isVersionString(version)) return Promise.reject(invalidArgument(`version '${version}' of model '${model}' must be a decimal integer like "1"`));
    // The load is shared (a later request for the same version finds it READY); each caller waits within its own deadline.
    const work = this.#withLock(model, () => this.#loadOnDemand(model, version));
    return raceDeadline(work, options.deadlineMs, options.signal, `loading model '${model}'${version ? ` version ${version}` : ''}`);
  }

  modelBytes(): number {
    let total = 0;
    for (const versions of this.#held.values()) for (const h of versions.values()) total += h.sizeBytes;
    return total;
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
      await this.#messages?.close().catch(() => undefined);
      await Promise.allSettled([this.#running, this.#syncing]);
    })();
    return this.#closed;
  }

  // ---- the first sync ---------------------------------------------------------------

  async #syncAll(): Promise<void> {
    let delayMs = this.#o.retryInitialMs;
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
        this.#log.warn('registry sync failed; retrying', { err, retryInMs: delayMs });
        await sleep(delayMs, this.#stop.signal);
        delayMs = Math.min(delayMs * 2, this.#o.retryMaxMs);
      }
    }
  }

  // ---- the event loop -----------------------------------------------------------------

  async #consumeLoop(): Promise<void> {
    let delayMs = this.#o.retryInitialMs;
    while (!this.#stop.signal.aborted) {
      try {
        const consumer = await this.#openConsumer();
        // Short pulls: a pull the server forgot (it restarted) is noticed and renewed within seconds.
        // (Closing the iterator on reconnect instead could drop a delivered message until its ack wait.)
        this.#messages = await consumer.consume({ max_messages: 1, expires: PULL_EXPIRES_MS });
        delayMs = this.#o.retryInitialMs;
        for await (const m of this.#messages) {
          await this.#handle(m);
          if (this.#stop.signal.aborted) break;
        }
      } catch (err) {
        if (this.#stop.signal.aborted) return;
        this.#log.warn('registry event consumer failed; reopening', { err, retryInMs: delayMs });
      } finally {
        await this.#messages?.close().catch(() => undefined);
      }
      await sleep(delayMs, this.#stop.signal);
      delayMs = Math.min(delayMs * 2, this.#o.retryMaxMs);
    }
  }

  /** The durable consumer; created on first use to deliver what was published since this process started (the first sync covers the rest). */
  async #openConsumer(): Promise<Consumer> {
    const jsm = await jetstreamManager(this.#o.nc);
    const replicas = this.#o.streamReplicas;
    await ensureStream(this.#o.nc, replicas === undefined ? REGISTRY_STREAM_SPEC : { ...REGISTRY_STREAM_SPEC, replicas }, jsm);
    try {
      await jsm.consumers.info(REGISTRY_STREAM, this.durableName);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
      await jsm.consumers.add(REGISTRY_STREAM, {
        durable_name: this.durableName,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.StartTime,
        opt_start_time: new Date(this.#startedAtMs).toISOString(),
        filter_subject: REGISTRY_SUBJECTS,
        // One event at a time, in order.
        max_ack_pending: 1,
        ack_wait: nanos(this.#o.ackWaitMs),
        inactive_threshold: nanos(this.#o.durableInactiveMs),
      });
      this.#log.info('created durable registry consumer', { durable: this.durableName });
    }
    return jetstream(this.#o.nc).consumers.get(REGISTRY_STREAM, this.durableName);
  }

  /** Handles one event, in a CONSUMER span when tracing. */
  #handle(m: JsMsg): Promise<void> {
    return this.#tracer ? withConsumeSpan(this.#tracer, m.subject, m.headers, () => this.#apply(m)) : this.#apply(m);
  }

  /** Applies one event (retrying what can be retried), then acks it. Not acked when closing: it comes again. */
  async #apply(m: JsMsg): Promise<void> {
    let event: RegistryEvent__Output;
    try {
      event = decodeRegistryEvent(m.data);
    } catch (err) {
      this.#log.error('undecodable registry event; dropping it', { err, subject: m.subject, streamSequence: m.seq });
      m.term('undecodable');
      return;
    }
    const model = modelOf(event);
    if (!model) {
      m.ack();
      return;
    }
    // Keeps the ack deadline away while a load or a registry outage takes its time.
    const keepAlive = setInterval(() => m.working(), Math.max(1000, this.#o.ackWaitMs / 3));
    keepAlive.unref();
    try {
      let delayMs = this.#o.retryInitialMs;
      for (;;) {
        if (this.#stop.signal.aborted) return;
        try {
          await this.#applyOnce(model);
          break;
        } catch (err) {
          if (this.#stop.signal.aborted) return;
          this.#log.warn('applying a registry event failed; retrying', { err, model, event: event.event, sequence: event.sequence, retryInMs: delayMs });
          await sleep(delayMs, this.#stop.signal);
          delayMs = Math.min(delayMs * 2, this.#o.retryMaxMs);
        }
      }
      m.ack();
      this.#log.debug('registry event applied', { model, event: event.event, sequence: event.sequence });
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** Reconciles one model; definitive failures are logged and count as applied, transient ones reject. */
  async #applyOnce(model: string): Promise<void> {
    try {
      await this.#withLock(model, () => this.#reconcile(model));
    } catch (err) {
      if (!this.#definitive.has(err as object)) throw err;
      this.#log.error('registry change rejected by this node', { model, err });
    }
  }

  // ---- reconciling a model with the registry ------------------------------------------------

  async #reconcile(model: string): Promise<void> {
    let info: Model__Output | undefined;
    try {
      info = await this.#o.registry.getModel(model, this.#callOptions());
    } catch (err) {
      if (!(err instanceof InfermeshError && err.code === Code.NOT_FOUND)) throw err;
    }
    const versions = new Map((info?.versions ?? []).map((v) => [String(v.version), v]));
    const production = info?.aliases.find((a) => a.name === SERVED_ALIASES.production && a.version > 0);
    const canary = info?.aliases.find((a) => a.name === SERVED_ALIASES.canary && a.version > 0);
    const wanted = new Set([production, canary].filter((a) => a !== undefined).map((a) => String(a.version)));
    this.#aliased.set(model, wanted);

    // replicas: N in the production version's config places the model on N nodes; elsewhere it is not loaded.
    const placed = replicasIn(production ? versions.get(String(production.version)) : undefined);
    const here = !this.#o.placement || (await this.#o.placement.decide(model, info ? placed : undefined));
    if (here) this.#elsewhere.delete(model);
    else this.#elsewhere.add(model);
    const toLoad = here ? wanted : new Set<string>();

    const failed = new Set<string>();
    for (const v of toLoad) {
      const mv = versions.get(v);
      if (!mv) continue;
      try {
        await this.#load(mv, false);
      } catch (err) {
        if (!this.#definitive.has(err as object)) throw err;
        this.#log.error('aliased version cannot load on this node', { model, version: v, err });
        failed.add(v);
      }
    }

    if (!here && this.#o.manager.versionsOf(model).length > 0) this.#o.manager.setRouting(model, {});
    if (info && here) {
      const routing: ModelRouting = {};
      const previousDefault = this.#o.manager.routing(model).default;
      if (production && !failed.has(String(production.version))) routing.default = String(production.version);
      // A production version that cannot load here: keep serving the one before it.
      else if (production && previousDefault !== undefined && this.#isReady(model, previousDefault)) routing.default = previousDefault;
      if (canary && !failed.has(String(canary.version))) {
        routing.canary = String(canary.version);
        routing.canaryWeight = canary.weight;
      }
      this.#o.manager.setRouting(model, routing);
    }

    const routedDefault = this.#o.manager.routing(model).default;
    for (const [version, held] of [...(this.#held.get(model) ?? [])]) {
      const deleted = !versions.has(version);
      const unaliased = !held.onDemand && !toLoad.has(version) && (version !== routedDefault || !here);
      if (!deleted && !unaliased) continue;
      await this.#o.manager.unloadVersion(model, version);
      this.#held.get(model)?.delete(version);
      this.#log.info('unloaded model version', { model, version, reason: deleted ? 'deleted from the registry' : here ? 'no longer aliased' : 'its replicas are placed on other nodes' });
    }
  }

  async #loadOnDemand(model: string, version: string | undefined): Promise<void> {
    if (version !== undefined) {
      if (this.#isReady(model, version)) return;
      if (this.#elsewhere.has(model)) throw unavailableElsewhere(model);
      const mv = await this.#o.registry.getVersion(model, { version: Number(version) }, this.#callOptions()).catch((err: unknown) => {
        throw notFoundIn(err, `model '${model}' has no version ${version} on this node or in the registry`);
      });
      await this.#load(mv, true);
      return;
    }
    await this.#reconcile(model);
    if (this.#servesDefault(model)) return;
    if (this.#elsewhere.has(model)) throw unavailableElsewhere(model);
    // A model no alias routes: its latest version.
    const latest = await this.#o.registry.getVersion(model, {}, this.#callOptions()).catch((err: unknown) => {
      throw notFoundIn(err, `model '${model}' is not served by this node and not in the registry`);
    });
    await this.#load(latest, true);
  }

  /** Downloads (through the cache), loads and warms up one version, unless it is already READY with the same artifact. */
  async #load(mv: ModelVersion__Output, onDemand: boolean): Promise<void> {
    const model = mv.model;
    const version = String(mv.version);
    const versions = this.#held.get(model) ?? new Map<string, Held>();
    this.#held.set(model, versions);
    const held = versions.get(version);
    if (held && held.sha256 === mv.sha256 && this.#isReady(model, version)) {
      if (!onDemand) held.onDemand = false;
      return;
    }
    const sizeBytes = Number(mv.sizeBytes);
    await this.#makeRoom(sizeBytes, model, version, onDemand);
    const path = await this.#o.cache.fetch({ model, version: mv.version, sha256: mv.sha256 }, { signal: this.#stop.signal });
    let config: unknown = {};
    try {
      config = mv.configJson ? JSON.parse(mv.configJson) : {};
    } catch (err) {
      throw this.#markDefinitive(invalidArgument(`config of ${model} version ${version} is not JSON: ${(err as Error).message}`, err));
    }
    const instances = this.#o.defaultInstances;
    if (instances && typeof config === 'object' && config !== null && !Array.isArray(config) && !('instances' in config)) config = { ...config, instances };
    try {
      await this.#o.manager.loadVersion(model, version, { modelPath: path }, config);
    } catch (err) {
      // The same bytes and config would fail again: the reason stays in the manager's list (UNAVAILABLE).
      throw this.#markDefinitive(InfermeshError.from(err, Code.UNAVAILABLE));
    }
    versions.set(version, { sha256: mv.sha256, sizeBytes, onDemand: (held?.onDemand ?? true) && onDemand });
  }

  /** Evicts least recently used on-demand versions until `sizeBytes` more fits the budget. */
  async #makeRoom(sizeBytes: number, model: string, version: string, onDemand: boolean): Promise<void> {
    const budget = this.#o.memoryBudgetBytes;
    if (budget <= 0) return;
    let excess = this.modelBytes() + sizeBytes - budget;
    if (excess <= 0) return;
    const lastUsed = new Map(this.#o.manager.list().map((s) => [`${s.model}/${s.version}`, s.lastUsedMs]));
    const candidates = [...this.#held]
      .flatMap(([m, versions]) => [...versions].map(([v, h]) => ({ m, v, h })))
      .filter(({ m, v, h }) => h.onDemand && !this.#aliased.get(m)?.has(v) && !(m === model && v === version))
      .sort((a, b) => (lastUsed.get(`${a.m}/${a.v}`) ?? 0) - (lastUsed.get(`${b.m}/${b.v}`) ?? 0));
    for (const c of candidates) {
      if (excess <= 0) break;
      await this.#o.manager.unloadVersion(c.m, c.v);
      this.#held.get(c.m)?.delete(c.v);
      excess -= c.h.sizeBytes;
      this.#log.info('evicted model version (memory budget)', { model: c.m, version: c.v, bytes: c.h.sizeBytes });
    }
    if (excess <= 0) return;
    if (onDemand) {
      throw this.#markDefinitive(resourceExhausted(`model '${model}' version ${version} (${sizeBytes} bytes) does not fit this node's memory budget of ${budget} bytes`));
    }
    this.#log.warn('aliased version loads beyond the memory budget', { model, version, sizeBytes, budgetBytes: budget });
  }

  #isReady(model: string, version: string): boolean {
    return this.#o.manager.list().some((s) => s.model === model && s.version === version && s.state === 'READY');
  }

  /** Whether an unversioned request for `model` would find a READY version. */
  #servesDefault(model: string): boolean {
    const routed = this.#o.manager.routing(model).default;
    if (routed !== undefined) return this.#isReady(model, routed);
    return this.#o.manager.list().some((s) => s.model === model && s.state === 'READY');
  }

  #markDefinitive(err: InfermeshError): InfermeshError {
    this.#definitive.add(err);
    return err;
  }

  #callOptions() {
    return { timeoutMs: this.#o.registryCallTimeoutMs, signal: this.#stop.signal };
  }

  /** Runs the reconciles and loads of one model one at a time. */
  #withLock<T>(model: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(model, fn);
  }
}

/** The `replicas` of a version's serving config, or undefined (every node; also for a config that is not JSON: its load reports that). */
function replicasIn(mv: ModelVersion__Output | undefined): number | undefined {
  if (!mv?.configJson) return undefined;
  try {
    const replicas = (JSON.parse(mv.configJson) as { replicas?: unknown }).replicas;
    // Out of range: not placed here; the load itself rejects the config, naming the key.
    return typeof replicas === 'number' && Number.isInteger(replicas) && replicas >= 1 && replicas <= MAX_MODEL_REPLICAS ? replicas : undefined;
  } catch {
    return undefined;
  }
}

/** UNAVAILABLE for a placed model whose replicas are all on other nodes, none of them reachable from here. */
function unavailableElsewhere(model: string): InfermeshError {
  return new InfermeshError(Code.UNAVAILABLE, `model '${model}': every replica is gone (it is placed on other nodes and none of them answers); retry when a node has claimed it`);
}

/** The model an event is about ('' for none). */
function modelOf(event: RegistryEvent__Output): string {
  const body = event.event ? (event[event.event] as { model?: string } | null | undefined) : undefined;
  return body?.model ?? '';
}

/** A registry NOT_FOUND rephrased for the caller; other errors unchanged. */
function notFoundIn(err: unknown, message: string): InfermeshError {
  const e = InfermeshError.from(err);
  return e.code === Code.NOT_FOUND ? notFound(message, e) : e;
}

/** `options` without its undefined members, so they do not override defaults. */
function definedOnly<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as T;
}
