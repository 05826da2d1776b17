import { join } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { NatsConnection } from '@nats-io/nats-core';
import type { ProtoGrpcType } from '../../shared/generated/registry.js';
import { silentLogger, type Logger } from '../../shared/logging/index.js';
import { connectNats } from '../../shared/nats/index.js';
import { loadProtos } from '../../shared/proto/index.js';
import { createArtifactStore } from './artifacts/index.js';
import { CommitSignal } from './events/commit-signal.js';
import { createOutboxPublisher, type OutboxPublisher } from './events/outbox-publisher.js';
import { withDefaults } from './options.js';
import { createRegistryHandlers } from './server/registry-handlers.js';
import { openRegistryStore, type RegistryStore } from './store/index.js';
import type { RegistryTelemetry } from './telemetry/index.js';
import { addStandardServices, shutdownGrpcServer } from '../../shared/grpc/index.js';

/** Options for {@link createRegistryService}. */
export interface RegistryServiceOptions {
  /** Folder for artifacts (and the SQLite database when `database` is unset). */
  dataDir: string;
  /** `postgres://...` for PostgreSQL; a path or `sqlite:PATH` for SQLite. Default: SQLite at `<dataDir>/registry.db`. */
  database?: string;
  /** PostgreSQL schema for the tables. Default: `public`. */
  postgresSchema?: string;
  /** NATS to publish events to; the service connects and drains it on close. */
  natsUrl: string;
  /** Address to bind. Default: 127.0.0.1. */
  host?: string;
  /** gRPC port; 0 (the default) picks a free one. */
  grpcPort?: number;
  /** Largest artifact accepted. Default: 2 GiB. */
  maxArtifactBytes?: number;
  /** Download chunk size. Default: 1 MiB. */
  chunkBytes?: number;
  /** How long close() lets in-flight calls finish before cancelling them. Default: 10000 ms. */
  shutdownTimeoutMs?: number;
  /** How long close() waits for unpublished events to be acknowledged. Default: 5000 ms. */
  flushTimeoutMs?: number;
  /** Copies of the REGISTRY stream in a JetStream cluster (3 on three servers). Default: the server's (1); an existing stream keeps its count. */
  natsReplicas?: number;
  /** Options of the outbox publisher (retry pacing, ack timeout). */
  publisher?: { ackTimeoutMs?: number; retryMinMs?: number; retryMaxMs?: number };
  logger?: Logger;
  clock?: () => number;
  /**
   * The process's tracer and registry metrics (from `createTelemetry` at the
   * entry point): SERVER spans, `upload`, `commit` and `publish` spans, and
   * versions / uploads / outbox-pending metrics. Default: none. The service
   * does not own it: the entry point shuts it down after `close()`.
   */
  telemetry?: RegistryTelemetry;
}

/** Defaults of {@link RegistryServiceOptions}. */
export const DEFAULT_REGISTRY_OPTIONS = {
  host: '127.0.0.1',
  grpcPort: 0,
  maxArtifactBytes: 2 * 1024 ** 3,
  chunkBytes: 1 << 20,
  shutdownTimeoutMs: 10_000,
  flushTimeoutMs: 5000,
} as const;

/** A running registry. */
export interface RegistryService {
  /** `host:port` the gRPC server listens on. */
  readonly address: string;
  readonly port: number;
  readonly store: RegistryStore;
  readonly publisher: OutboxPublisher;
  readonly nats: NatsConnection;
  /** Drains in-flight calls, flushes events, closes the database and drains NATS. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the model registry: opens the database and artifact folder, connects
 * to NATS, starts the outbox publisher, and serves `infermesh.registry.v1.ModelRegistry`.
 */
export async function createRegistryService(options: RegistryServiceOptions): Promise<RegistryService> {
  const o = withDefaults(DEFAULT_REGISTRY_OPTIONS, options);
  const logger = (o.logger ?? silentLogger).child({ component: 'registry' });
  const commits = new CommitSignal();
  const store = await openRegistryStore({
    dataDir: o.dataDir,
    database: o.database,
    postgresSchema: o.postgresSchema,
    clock: o.clock,
    onCommit: () => commits.notify(),
  });
  const cleanup: (() => Promise<unknown>)[] = [() => store.close()];
  const undo = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  };
  try {
    const artifacts = await createArtifactStore(join(o.dataDir, 'artifacts'));
    const nats = await connectNats({ url: o.natsUrl, name: 'infermesh-registry' });
    cleanup.push(() => nats.drain());
    const publisher = createOutboxPublisher({
      store,
      nats,
      commits,
      logger,
      clock: o.clock,
      ...(o.natsReplicas !== undefined ? { streamReplicas: o.natsReplicas } : {}),
      ...o.publisher,
      ...(o.telemetry ? { tracer: o.telemetry.tracer, ...(o.telemetry.metrics ? { metrics: o.telemetry.metrics } : {}) } : {}),
    });
    cleanup.push(() => publisher.close(0));

    const closing = new AbortController();
    const proto = loadProtos(['infermesh/registry/v1/registry.proto']) as unknown as ProtoGrpcType;
    const server = new Server({ 'grpc.max_receive_message_length': 16 << 20 });
    server.addService(
      proto.infermesh.registry.v1.ModelRegistry.service,
      createRegistryHandlers({
        store,
        artifacts,
        commits,
        logger,
        closing: closing.signal,
        maxArtifactBytes: o.maxArtifactBytes,
        chunkBytes: o.chunkBytes,
        ...(o.telemetry ? { telemetry: o.telemetry } : {}),
      }),
    );
    const health = addStandardServices(server, { protoFiles: ['infermesh/registry/v1/registry.proto'], services: ['infermesh.registry.v1.ModelRegistry'] });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${o.host}:${o.grpcPort}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const address = `${o.host}:${port}`;
    health.set('SERVING');
    logger.info('registry listening', { address, database: store.kind, registryId: store.registryId });

    let closed: Promise<void> | undefined;
    return {
      address,
      port,
      store,
      publisher,
      nats,
      close: () =>
        (closed ??= (async () => {
          // Watch streams never end by themselves: end them, then let unary calls and uploads finish.
          closing.abort();
          health.close();
          await shutdownGrpcServer(server, o.shutdownTimeoutMs);
          await publisher.close(o.flushTimeoutMs);
          await store.close();
          await nats.drain().catch((err: unknown) => logger.warn('draining NATS failed', { err }));
          logger.info('registry stopped');
        })()),
    };
  } catch (err) {
    await undo();
    throw err;
  }
}
