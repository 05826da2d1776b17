import { availableParallelism } from 'node:os';
import type { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Tracer } from '@opentelemetry/api';
import { createInferenceClient, type InferenceClient } from '../../../shared/client/index.js';
import { silentLogger, type Logger } from '../../../shared/logging/index.js';
import { connectNats, type ConnectNatsOptions } from '../../../shared/nats/index.js';
import { defineDefaults, resolveOptions } from '../../../shared/options/index.js';
import { createRegistryClient, type RegistryClient } from '../../../shared/registry-client/index.js';
import { createInteractionIngest, type InteractionIngest } from '../events/index.js';
import type { IalsParams } from '../learning/index.js';
import { startRecommenderServer, type RecommenderServer } from '../server/index.js';
import { followRevocations, type TokenVerifier } from '../../../shared/auth/index.js';
import { createRecommendEngine, createServingModel, type RecommendEngine } from '../serving/index.js';
import { openRecommenderStore, type RecommenderStore } from '../store/index.js';
import { createModelTrainer, type ModelTrainer } from './model-trainer.js';
import { followProduction, resolveFollowerId } from './production-follower.js';

export interface RecommenderServiceOptions {
  /** Where the SQLite store lives. */
  dataDir: string;
  natsUrl: string;
  /** TLS and nkey credentials of the NATS connection (shared/tls `loadNatsSecurity`). Default: plaintext, none. */
  natsSecurity?: Pick<ConnectNatsOptions, 'tls' | 'nkeySeed'>;
  /** gRPC server credentials (TLS, mTLS). Default: insecure. */
  credentials?: ServerCredentials;
  /** Channel credentials of the calls to the registry and the inference node. Default: insecure. */
  clientCredentials?: ChannelCredentials;
  /** Copies of the INTERACTIONS stream in a JetStream cluster. Default: the server's (1). */
  natsReplicas?: number;
  /** The registry's `host:port`. */
  registryAddress: string;
  /** An inference node's `host:port` (scoring goes there). */
  inferenceAddress: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  grpcPort?: number;
  /** Registry model name of the scorer. Default `recommender`. */
  modelName?: string;
  /** Largest k of a request, and the k fixed in the exported scorer. Default 100. */
  maxK?: number;
  /** Latest interactions folded in for a user's vector. Default 200. */
  historyLimit?: number;
  /** Deadline of a scoring call when the caller gave none. Default 5000 ms. */
  inferTimeoutMs?: number;
  /** iALS parameters (defaults: DEFAULT_IALS_PARAMS). */
  params?: Partial<IalsParams>;
  /** Retrain this often when new interactions arrived; 0 (default) trains on demand only. */
  retrainIntervalMs?: number;
  /** Train in a worker thread (when the compiled worker exists). Default true. */
  trainInWorker?: boolean;
  /** Threads a training run splits each half-step over. Default: available cores − 1 (one is left to serving), at least 1. */
  trainThreads?: number;
  /** Spans for every call (server spans, client spans to the node). Default: none. */
  tracer?: Tracer;
  logger?: Logger;
  clock?: () => number;
  /**
   * Enforce tokens on the gRPC server (`--auth`), revocations followed on the
   * service's NATS connection; `token` is the service's own, for its registry
   * and inference calls (INFERMESH_TOKEN). Default: off.
   */
  auth?: { verifier?: TokenVerifier; token?: string };
}

/** Defaults of {@link RecommenderServiceOptions}. */
export const DEFAULT_RECOMMENDER_OPTIONS = defineDefaults({
  host: '127.0.0.1',
  grpcPort: 0,
  modelName: 'recommender',
  maxK: 100,
  historyLimit: 200,
  inferTimeoutMs: 5000,
  retrainIntervalMs: 0,
  trainInWorker: true,
  trainThreads: Math.max(1, availableParallelism() - 1),
} as const);

/** A running recommender. */
export interface RecommenderService {
  readonly address: string;
  readonly engine: RecommendEngine;
  readonly trainer: ModelTrainer;
  readonly store: RecommenderStore;
  /** Stops the schedule, drains gRPC, stops consuming, drains NATS, closes clients and the store. Idempotent. */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

/**
 * Starts the recommender: store, NATS (the INTERACTIONS stream and its durable
 * consumer), registry and inference clients, the promoted model from the store,
 * the optional retraining schedule, and the gRPC server.
 */
export async function createRecommenderService(options: RecommenderServiceOptions): Promise<RecommenderService> {
  const o = resolveOptions(DEFAULT_RECOMMENDER_OPTIONS, options);
  const logger = (o.logger ?? silentLogger).child({ component: 'recommender' });
  const cleanup: (() => unknown)[] = [];
  const undo = async () => {
    for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    const store = openRecommenderStore(o.dataDir);
    cleanup.push(() => store.close());
    const nc: NatsConnection = await connectNats({ url: o.natsUrl, name: 'recommender', ...o.natsSecurity });
    cleanup.push(() => nc.drain());
    const ownToken = o.auth?.token ? { token: o.auth.token } : {};
    const clientCredentials = o.clientCredentials ? { credentials: o.clientCredentials } : {};
    const registry: RegistryClient = createRegistryClient(o.registryAddress, { ...clientCredentials, ...ownToken });
    cleanup.push(() => registry.close());
    const inference: InferenceClient = createInferenceClient(o.inferenceAddress, { ...clientCredentials, ...(o.tracer ? { tracer: o.tracer } : {}), ...ownToken });
    const verifier = o.auth?.verifier;
    if (verifier) {
      const revocations = followRevocations({ nc, verifier, logger: logger.child({ component: 'auth' }) });
      cleanup.push(() => revocations.close());
    }
    cleanup.push(() => inference.close());
    const engine = createRecommendEngine({ store, inference, modelName: o.modelName, maxK: o.maxK, historyLimit: o.historyLimit, inferTimeoutMs: o.inferTimeoutMs, logger });
    const promoted = store.latestPromoted();
    if (promoted) {
      engine.setServing(createServingModel(promoted));
      logger.info('serving', { version: promoted.version, users: promoted.users, items: promoted.items });
    }
    const ingest: InteractionIngest = createInteractionIngest({
      nc,
      store,
      itemIndex: (id) => engine.catalogue.indexOf(id),
      onRecorded: (items) => engine.noteInteractions(items),
      logger,
      clock: o.clock,
      ...(o.natsReplicas !== undefined ? { streamReplicas: o.natsReplicas } : {}),
    });
    await ingest.start();
    cleanup.push(() => ingest.close());
    const trainer = createModelTrainer({ store, registry, engine, modelName: o.modelName, params: o.params ?? {}, maxK: o.maxK, inWorker: o.trainInWorker, threads: o.trainThreads, logger, clock: o.clock });
    const follower = followProduction({ nc, registry, store, engine, modelName: o.modelName, followerId: await resolveFollowerId(o.dataDir), logger });
    cleanup.push(() => follower.close());
    const server: RecommenderServer = await startRecommenderServer({
      engine, trainer, ingest, store, modelName: o.modelName, maxK: o.maxK, logger, host: o.host, port: o.grpcPort, tracer: o.tracer,
      ...(verifier ? { auth: { verifier } } : {}),
      ...(o.credentials ? { credentials: o.credentials } : {}),
    });
    let timer: NodeJS.Timeout | undefined;
    // Ends a scheduled run (and its worker) when the service closes.
    const stopping = new AbortController();
    if (o.retrainIntervalMs > 0) {
      timer = setInterval(() => {
        if (trainer.running || trainer.pendingInteractions() === 0) return;
        trainer.train({ signal: stopping.signal }).catch((err: unknown) => logger.warn('scheduled training failed', { err }));
      }, o.retrainIntervalMs);
      timer.unref();
    }
    let closed: Promise<void> | undefined;
    return {
      address: server.address,
      engine,
      trainer,
      store,
      close: (closeOptions = {}) =>
        (closed ??= (async () => {
          if (timer) clearInterval(timer);
          stopping.abort();
          await server.close(closeOptions.drainTimeoutMs);
          await undo();
        })()),
    };
  } catch (err) {
    await undo();
    throw err;
  }
}
