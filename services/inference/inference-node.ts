import { hostname } from 'node:os';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from '../../shared/logging/index.js';
import { createModelManager, type ModelManager } from './models/index.js';
import { defineDefaults, resolveOptions } from '../../shared/options/index.js';
import {
  createInferenceServer,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_MAX_QUEUED_REQUEST_BYTES,
  DEFAULT_MAX_REQUEST_BYTES,
  type InferenceServer,
  type ModelControlMode,
} from './server/index.js';
import { createMesh, type Mesh, type MeshOptions } from './mesh/index.js';
import { createHttpInferenceServer, type HttpInferenceServer } from './http/index.js';
import type { InferenceTelemetry } from './telemetry/index.js';
import type { NatsConnection } from '@nats-io/nats-core';
import { followRevocations, type Principal, type RevocationFollower, type TokenVerifier } from '../../shared/auth/index.js';
import { createPredictionRecorder, type PredictionRecorder, type PredictionRecorderOptions } from './records/index.js';

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/** Options of {@link startInferenceNode}. */
export interface InferenceNodeOptions {
  /** A Triton-style model repository served from the start (optional in mesh mode). */
  repositoryDir?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  grpcPort?: number;
  /** Also serve the Open Inference Protocol over HTTP (REST) on this port (0 = a free one). Default: no HTTP server. */
  httpPort?: number;
  /** REST limits (see HttpInferenceServerOptions): body bytes (64 MiB), body bytes in flight (4 x that), request arrival time (30000 ms). */
  http?: { maxBodyBytes?: number; maxInFlightBodyBytes?: number; requestTimeoutMs?: number };
  /** Join the mesh: follow the registry, beat, forward to peers (`infermesh inference`). Default: standalone. */
  mesh?: MeshOptions;
  /** gRPC server credentials (TLS, mTLS: shared/tls `grpcServerCredentials`). Default: insecure. */
  credentials?: ServerCredentials;
  /** Serve the REST port over HTTPS (shared/tls `httpsServerOptions`). Default: plain HTTP. */
  https?: HttpsServerOptions;
  logger: Logger;
  /**
   * The process's tracer and inference metrics (from `createTelemetry` at the
   * entry point), handed to the server, the model manager and its executors,
   * and the mesh. Default: no spans, no metrics. The node does not own it:
   * the entry point shuts it down after `close()`.
   */
  telemetry?: InferenceTelemetry;
  /** Largest request message, in bytes. Default 64 MiB (`--max-request-bytes`). */
  maxRequestBytes?: number;
  /** Node-wide budget of inference request bytes held from decode to answer. Default 512 MiB (`--max-queued-request-bytes`). */
  maxQueuedRequestBytes?: number;
  /** `explicit` serves RepositoryModelLoad/Unload; `none` (default) refuses them (`--model-control`). */
  modelControl?: ModelControlMode;
  /**
   * Prediction records (services/inference/records): published on `nc` (the
   * caller's connection, not closed by the node), or on the mesh's connection
   * in mesh mode. Without a connection the node records nothing. Batching
   * as the recorder's options say (maxBatchRecords 1: one message per record).
   */
  records?: { nc?: NatsConnection } & Pick<PredictionRecorderOptions, 'hashKey' | 'maxBatchRecords' | 'flushIntervalMs'>;
  /**
   * Enforce tokens on gRPC and REST (`--auth`): `verifier` holds the
   * registry's public key. Revoked tokens are followed on `revocations` (a
   * NATS connection the node does not close), or on the mesh's connection in
   * mesh mode. `token` is the node's own, for its registry calls in mesh mode
   * (INFERMESH_TOKEN). `anonymous`: the principal of inference calls without a
   * token (`--auth-anonymous-models`, anonymousPrincipal). Default: off, no token looked at.
   */
  auth?: { verifier: TokenVerifier; revocations?: NatsConnection; token?: string; anonymous?: Principal };
}

/** Defaults of {@link InferenceNodeOptions}, resolved once in {@link startInferenceNode}. */
/** Load and unload over the protocol are refused unless the node is started with `explicit`. */
const DEFAULT_MODEL_CONTROL: ModelControlMode = 'none';

export const DEFAULT_INFERENCE_NODE_OPTIONS = defineDefaults({
  host: '127.0.0.1',
  grpcPort: 0,
  maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
  maxQueuedRequestBytes: DEFAULT_MAX_QUEUED_REQUEST_BYTES,
  modelControl: DEFAULT_MODEL_CONTROL,
});

/** A running inference node: its model manager, its gRPC server and where it listens. */
export interface InferenceNode {
  manager: ModelManager;
  server: InferenceServer;
  /** `host:port` the gRPC server listens on. */
  grpcAddress: string;
  /** The REST server and `host:port` it listens on (with `httpPort` only). */
  http?: HttpInferenceServer;
  httpAddress?: string;
  /** The node's mesh membership (mesh mode only). */
  mesh?: Mesh;
  /** Its prediction recorder, when it has a NATS connection. */
  recorder?: PredictionRecorder;
  /** The revocation follower, when auth is on and the node has a NATS connection. */
  revocations?: RevocationFollower;
  /** Graceful stop: drain the server (default 10000 ms), then unload every model. Idempotent. */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

/**
 * Starts an inference node in this process: loads the repository (models that
 * fail are listed UNAVAILABLE; the rest serve), then serves gRPC. With `mesh`,
 * it also follows the registry (loading what is aliased), beats on NATS and
 * forwards requests for models it lacks to peers. Used by `infermesh serve`,
 * `infermesh inference` and tests.
 */
export async function startInferenceNode(nodeOptions: InferenceNodeOptions): Promise<InferenceNode> {
  const options = resolveOptions(DEFAULT_INFERENCE_NODE_OPTIONS, nodeOptions);
  const logger = options.logger;
  const telemetry = options.telemetry ? { telemetry: options.telemetry } : {};
  const manager = createModelManager({ logger: logger.child({ component: 'models' }), ...telemetry, ...(options.repositoryDir ? { repositoryDir: options.repositoryDir } : {}) });
  if (options.repositoryDir) await manager.loadRepository();
  let mesh: Mesh | undefined;
  try {
    if (options.mesh) mesh = await createMesh({ ...options.mesh, ...(options.auth?.token ? { registryToken: options.auth.token } : {}), manager, ...telemetry, logger: logger.child({ component: 'mesh', node: options.mesh.nodeId }) });
  } catch (err) {
    await manager.close();
    throw err;
  }
  const recordsNc = options.records?.nc ?? mesh?.nc;
  const recorder = recordsNc
    ? createPredictionRecorder({
        nc: recordsNc,
        nodeId: mesh?.nodeId ?? '',
        logger: logger.child({ component: 'records' }),
        ...(options.records?.hashKey ? { hashKey: options.records.hashKey } : {}),
        ...(options.records?.maxBatchRecords !== undefined ? { maxBatchRecords: options.records.maxBatchRecords } : {}),
        ...(options.records?.flushIntervalMs !== undefined ? { flushIntervalMs: options.records.flushIntervalMs } : {}),
        ...(options.telemetry?.metrics ? { recordsTotal: options.telemetry.metrics.predictionRecordsTotal } : {}),
      })
    : undefined;
  const auth = options.auth ? { verifier: options.auth.verifier, ...(options.auth.anonymous ? { anonymous: options.auth.anonymous } : {}) } : undefined;
  const revocationsNc = options.auth ? (options.auth.revocations ?? mesh?.nc) : undefined;
  const revocations = revocationsNc ? followRevocations({ nc: revocationsNc, verifier: options.auth!.verifier, logger: logger.child({ component: 'auth' }) }) : undefined;
  const server = createInferenceServer({
    manager,
    ...(auth ? { auth } : {}),
    logger: logger.child({ component: 'grpc' }),
    host: options.host,
    port: options.grpcPort,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(mesh ? { onModelMiss: mesh.onModelMiss, nodeId: mesh.nodeId, warm: mesh.follower.synced(), placement: { rows: (model?: string) => mesh.placement.rows(model) } } : {}),
    ...(recorder ? { recorder } : {}),
    ...telemetry,
    maxRequestBytes: options.maxRequestBytes,
    maxQueuedRequestBytes: options.maxQueuedRequestBytes,
    modelControl: options.modelControl,
  });
  const http =
    options.httpPort === undefined
      ? undefined
      : createHttpInferenceServer({
          manager,
          logger: logger.child({ component: 'http' }),
          host: options.host,
          port: options.httpPort,
          ...options.http,
          ...(options.https ? { https: options.https } : {}),
          isReady: () => server.ready,
          ...(auth ? { auth } : {}),
          modelControl: options.modelControl,
          ...(recorder ? { recorder } : {}),
          ...(mesh ? { onModelMiss: mesh.onModelMiss, nodeId: mesh.nodeId } : {}),
          ...telemetry,
        });
  let address: { host: string; port: number };
  let httpBound: { host: string; port: number } | undefined;
  let grpcStarted = false;
  try {
    address = await server.start();
    grpcStarted = true;
    httpBound = await http?.start();
  } catch (err) {
    await revocations?.close();
    await recorder?.close(0);
    if (grpcStarted) await server.close({ drainTimeoutMs: 0 });
    await mesh?.close();
    await manager.close();
    throw err;
  }
  const hostPort = (a: { host: string; port: number }) => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
  const grpcAddress = hostPort(address);
  // Peers dial the address in the heartbeat: a wildcard bind is advertised under the host name.
  mesh?.start(WILDCARD_HOSTS.has(address.host) ? `${hostname()}:${address.port}` : grpcAddress);
  let closed: Promise<void> | undefined;
  return {
    manager,
    server,
    grpcAddress,
    ...(http && httpBound ? { http, httpAddress: hostPort(httpBound) } : {}),
    ...(mesh ? { mesh } : {}),
    ...(recorder ? { recorder } : {}),
    ...(revocations ? { revocations } : {}),
    close: (closeOptions = {}) =>
      (closed ??= (async () => {
        // Both start at once (ServerReady turns false now): the last beat tells peers to stop
        // forwarding here, and calls in flight drain.
        const leaving = mesh?.heartbeat?.close();
        const drainTimeoutMs = closeOptions.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
        const draining = server.close({ drainTimeoutMs });
        const httpDraining = http?.close({ drainTimeoutMs });
        await leaving;
        await draining;
        await recorder?.close();
        await httpDraining;
        await revocations?.close();
        await mesh?.close();
        await manager.close();
      })()),
  };
}
