import { join } from 'node:path';
import type { ServerCredentials } from '@grpc/grpc-js';
import type { NatsConnection } from '@nats-io/nats-core';
import type { ConnectNatsOptions } from '../../shared/nats/index.js';
import type { ProtoGrpcType } from '../../shared/generated/registry.js';
import { silentLogger, type Logger } from '../../shared/logging/index.js';
import { loadProtos } from '../../shared/proto/index.js';
import { createArtifactStore, type InspectOnnxFileOptions } from './artifacts/index.js';
import { CommitSignal } from './events/commit-signal.js';
import { connectInBackground } from './events/nats-link.js';
import { createOutboxPruner, type OutboxPruner } from './events/outbox-pruner.js';
import { createOutboxPublisher, type OutboxPublisher } from './events/outbox-publisher.js';
import { createRegistryHandlers } from './server/registry-handlers.js';
import { createRegistryAuth, type RegistryAuth } from './auth/index.js';
import { createAuditHandlers } from './server/audit-handlers.js';
import { createTokenHandlers } from './server/token-handlers.js';
import { openRegistryStore, type RegistryStore } from './store/index.js';
import type { RegistryTelemetry } from './telemetry/index.js';
import { addStandardServices, createRpcServer, hostPort, type Authenticate, type BackoffOptions } from '../../shared/rpc/index.js';
import { resolveOptions } from '../../shared/options/index.js';
import { createRpcAuthenticate, withModelAuthorization } from '../../shared/auth/index.js';
import { REGISTRY_SCOPE_TABLE } from './server/registry-scopes.js';
import { ensureAdminToken } from './auth/bootstrap-admin.js';

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
  /** TLS and nkey credentials of that connection (shared/tls `loadNatsSecurity`). Default: plaintext, none. */
  natsSecurity?: Pick<ConnectNatsOptions, 'tls' | 'nkeySeed'>;
  /** Address to bind. Default: 127.0.0.1. */
  host?: string;
  /** gRPC port; 0 (the default) picks a free one. */
  grpcPort?: number;
  /** Largest artifact accepted. Default: 2 GiB. */
  maxArtifactBytes?: number;
  /** How uploads are checked: files above `inProcessMaxBytes` (64 MiB) are loaded in a child process. */
  inspectOnnx?: InspectOnnxFileOptions;
  /** Download chunk size. Default: 1 MiB. */
  chunkBytes?: number;
  /** How long close() lets in-flight calls finish before cancelling them. Default: 10000 ms. */
  shutdownTimeoutMs?: number;
  /** How long close() waits for unpublished events to be acknowledged. Default: 5000 ms. */
  flushTimeoutMs?: number;
  /**
   * At start-up, stored artifacts that no version uses and that are older than
   * this are removed (a crash between an upload's rename and its commit leaves
   * one): the longest an upload may take from storing its file to committing
   * its version. Default: 900000 ms (15 minutes).
   */
  orphanArtifactAgeMs?: number;
  /** Outbox pruning: how often, and how recent events always stay (see createOutboxPruner). Default: every 10 minutes, 1 hour. */
  pruner?: { intervalMs?: number; minAgeMs?: number };
  /** Copies of the REGISTRY stream in a JetStream cluster (3 on three servers). Default: the server's (1); an existing stream keeps its count. */
  natsReplicas?: number;
  /** Options of the outbox publisher: the pauses between failed rounds, and how long a publish waits for its ack. */
  publisher?: { ackTimeoutMs?: number; backoff?: BackoffOptions };
  logger?: Logger;
  clock?: () => number;
  /**
   * The process's tracer and registry metrics (from `createTelemetry` at the
   * entry point): SERVER spans, `upload`, `commit` and `publish` spans, and
   * versions / uploads / outbox-pending metrics. Default: none. The service
   * does not own it: the entry point shuts it down after `close()`.
   */
  telemetry?: RegistryTelemetry;
  /** gRPC server credentials. Default: insecure. */
  credentials?: ServerCredentials;
  /** Runs before every ModelRegistry call (not health or reflection). Default: none (or the hook `auth` makes). */
  authenticate?: Authenticate;
  /**
   * Enforce tokens (`--auth`), verified against the registry's own key:
   * every call needs the scope REGISTRY_METHOD_SCOPES names (GetPublicKey is
   * public), and a call naming a model one whose patterns cover it.
   * Revocations apply here at once. The first start writes an admin token
   * to `<dataDir>/auth/admin.token` (see `adminTokenFile`). Default: false
   * (every call is served; the audit log records the token's subject when one is sent).
   */
  auth?: boolean;
}

/** Defaults of {@link RegistryServiceOptions}. */
export const DEFAULT_REGISTRY_OPTIONS = {
  host: '127.0.0.1',
  grpcPort: 0,
  maxArtifactBytes: 2 * 1024 ** 3,
  chunkBytes: 1 << 20,
  shutdownTimeoutMs: 10_000,
  flushTimeoutMs: 5000,
  orphanArtifactAgeMs: 15 * 60_000,
} as const;

/** A running registry. */
export interface RegistryService {
  /** `host:port` the gRPC server listens on. */
  readonly address: string;
  readonly port: number;
  readonly store: RegistryStore;
  /** Its token signing key, issuer and verifier. */
  readonly auth: RegistryAuth;
  /** With `auth`: the file holding the first admin token (0600). */
  readonly adminTokenFile?: string;
  readonly publisher: OutboxPublisher;
  readonly pruner: OutboxPruner;
  /** The NATS connection; undefined while NATS has been unreachable since start (the outbox holds the events). */
  readonly nats: NatsConnection | undefined;
  /** Orphaned artifacts the start-up sweep removed. */
  readonly orphansRemoved: number;
  /** Drains in-flight calls, flushes events, closes the database and drains NATS. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the model registry: opens the database and artifact folder, connects
 * to NATS, starts the outbox publisher, and serves `infermesh.registry.v1.ModelRegistry`.
 */
export async function createRegistryService(options: RegistryServiceOptions): Promise<RegistryService> {
  const o = resolveOptions(DEFAULT_REGISTRY_OPTIONS, options);
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
    const orphans = await artifacts.sweepOrphans(async (sha256) => (await store.countArtifactUses(sha256)) > 0, o.orphanArtifactAgeMs);
    if (orphans.length > 0) logger.warn('removed orphaned artifacts (stored, but no version uses them)', { removed: orphans.length, sha256: orphans });
    else logger.info('no orphaned artifacts', { removed: 0 });
    // NATS may be down at start: serve anyway; events wait in the outbox until the connection is made.
    const natsLink = connectInBackground({ url: o.natsUrl, name: 'infermesh-registry', logger, ...(o.natsSecurity ? { security: o.natsSecurity } : {}) });
    cleanup.push(() => natsLink.close());
    await natsLink.firstAttempt;
    const publisher = createOutboxPublisher({
      store,
      nats: natsLink.connection,
      commits,
      logger,
      clock: o.clock,
      ...(o.natsReplicas !== undefined ? { streamReplicas: o.natsReplicas } : {}),
      ...o.publisher,
      ...(o.telemetry ? { tracer: o.telemetry.tracer, ...(o.telemetry.metrics ? { metrics: o.telemetry.metrics } : {}) } : {}),
    });
    cleanup.push(() => publisher.close(0));
    const pruner = createOutboxPruner({ store, nats: () => natsLink.current, logger, clock: o.clock, ...o.pruner });
    cleanup.push(async () => pruner.close());

    const auth = await createRegistryAuth({ dataDir: o.dataDir, store, logger, ...(o.clock ? { clock: o.clock } : {}) });
    const closing = new AbortController();
    const proto = loadProtos(['infermesh/registry/v1/registry.proto']) as unknown as ProtoGrpcType;
    const adminTokenFile = o.auth ? await ensureAdminToken(o.dataDir, auth.issuer, logger) : undefined;
    const authenticate = o.authenticate ?? (o.auth ? createRpcAuthenticate({ verifier: auth.verifier, tables: [REGISTRY_SCOPE_TABLE] }) : undefined);
    const rpc = createRpcServer({
      channelOptions: { 'grpc.max_receive_message_length': 16 << 20 },
      logger,
      ...(o.credentials ? { credentials: o.credentials } : {}),
      ...(authenticate ? { authenticate } : {}),
    });
    const service = proto.infermesh.registry.v1.ModelRegistry.service;
    const handlers = {
      ...createRegistryHandlers({
        store,
        artifacts,
        commits,
        logger,
        closing: closing.signal,
        maxArtifactBytes: o.maxArtifactBytes,
        ...(o.inspectOnnx ? { inspect: o.inspectOnnx } : {}),
        chunkBytes: o.chunkBytes,
        ...(o.telemetry ? { telemetry: o.telemetry } : {}),
        actorOf: auth.actorOf,
      }),
      ...createTokenHandlers({ auth, logger }),
      ...createAuditHandlers({ auth, logger, store, ...(o.clock ? { clock: o.clock } : {}) }),
    };
    rpc.addService(service, o.auth ? withModelAuthorization(service, handlers, REGISTRY_SCOPE_TABLE, { logger, modelOf: modelNamed }) : handlers);
    const health = addStandardServices(rpc.server, { protoFiles: ['infermesh/registry/v1/registry.proto'], services: ['infermesh.registry.v1.ModelRegistry'] });
    const port = await rpc.bind(o.host, o.grpcPort);
    const address = hostPort(o.host, port);
    health.set('SERVING');
    logger.info('registry listening', { address, database: store.kind, registryId: store.registryId });

    let closed: Promise<void> | undefined;
    return {
      address,
      port,
      store,
      auth,
      ...(adminTokenFile ? { adminTokenFile } : {}),
      publisher,
      pruner,
      get nats() {
        return natsLink.current;
      },
      orphansRemoved: orphans.length,
      close: () =>
        (closed ??= (async () => {
          // Watch streams never end by themselves: end them, then let unary calls and uploads finish.
          closing.abort();
          health.close();
          await rpc.shutdown(o.shutdownTimeoutMs);
          pruner.close();
          await publisher.close(o.flushTimeoutMs);
          await store.close();
          await natsLink.close();
          logger.info('registry stopped');
        })()),
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** The model a registry request names: `model`, or `name` (CreateModel, UpdateModel, GetModel); undefined for none. */
function modelNamed(request: unknown): string | undefined {
  const r = request as { model?: unknown; name?: unknown } | undefined;
  const model = typeof r?.model === 'string' && r.model !== '' ? r.model : r?.name;
  return typeof model === 'string' && model !== '' ? model : undefined;
}
