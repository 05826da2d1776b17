import { join } from 'node:path';
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../../../shared/logging/index.js';
import { connectNats, type ConnectNatsOptions } from '../../../shared/nats/index.js';
import { createRegistryClient, type RegistryClient } from '../../../shared/registry-client/index.js';
import type { InstanceGroupConfig } from '../../../shared/model-config/index.js';
import type { ModelManager } from '../models/index.js';
import type { ModelMissHandler } from '../server/index.js';
import type { InferenceTelemetry } from '../telemetry/index.js';
import { createArtifactCache } from './artifact-cache.js';
import { createHeartbeatPublisher, DEFAULT_HEARTBEAT_INTERVAL_MS, type HeartbeatPublisher } from './heartbeat-publisher.js';
import { createMeshMissHandler } from './mesh-miss-handler.js';
import { createPeerForwarder } from './peer-forwarder.js';
import { createPeerTable, type PeerTable } from './peer-table.js';
import { createRegistryFollower, type RegistryFollower } from './registry-follower.js';
import { createPlacement, type Placement } from './placement.js';
import { settleWithin } from './settle-within.js';
import type { HeartbeatTrust } from './node-identity.js';

/** How an inference node joins the mesh (`infermesh inference`). */
export interface MeshOptions {
  /** NATS server(s) with JetStream, `nats://host:port`. */
  natsUrl: string;
  /** The registry's `host:port`. */
  registryAddress: string;
  /** Where the node keeps downloaded artifacts (`<dataDir>/artifacts/sha256/`). */
  dataDir: string;
  /** This node's id (one NATS subject token; see isValidNodeId). */
  nodeId: string;
  /** Bytes of model artifacts the node may hold; 0 = no limit. */
  memoryBudgetBytes?: number;
  /** Heartbeat period in ms. Default 1000. */
  heartbeatIntervalMs?: number;
  /** Copies of the JetStream stream and bucket this node creates (`--nats-replicas`; 3 on a three-server cluster). Default: the server's (1). */
  natsReplicas?: number;
  /** Devices of registry versions whose config names none (`--instances`). Default: cpu. */
  defaultInstances?: InstanceGroupConfig[];
  /** TLS and credentials of the NATS connection (see connectNats). Default: plaintext, no credentials. */
  natsSecurity?: Pick<ConnectNatsOptions, 'tls' | 'nkeySeed'>;
  /** Sign this node's heartbeats and/or verify its peers' (node-identity.ts). Default: unsigned, every beat trusted. */
  heartbeatTrust?: HeartbeatTrust;
  /** This node's own token for its registry calls (a registry that enforces tokens needs `models:read`). Default: none. */
  registryToken?: string;
  /** Channel credentials of the node's calls to the registry and to its peers (TLS, mTLS: shared/tls `grpcChannelCredentials`). Default: insecure. */
  clientCredentials?: ChannelCredentials;
}

/** A node's mesh membership: registry follower, heartbeats, peer table and forwarding. */
export interface Mesh {
  readonly nodeId: string;
  readonly nc: NatsConnection;
  readonly registry: RegistryClient;
  readonly follower: RegistryFollower;
  readonly peers: PeerTable;
  /** Where models with `replicas: N` live (the `infermesh-placement` bucket). */
  readonly placement: Placement;
  /** Plug into createInferenceServer({ onModelMiss }). */
  readonly onModelMiss: ModelMissHandler;
  /** Starts beating (as `grpcAddress`), listening to peers and following the registry. */
  start(grpcAddress: string): void;
  /** The heartbeat publisher, once started. */
  readonly heartbeat: HeartbeatPublisher | undefined;
  /** Says goodbye to peers, stops following the registry, closes channels and drains NATS. Idempotent. */
  close(): Promise<void>;
}

const NATS_DRAIN_TIMEOUT_MS = 2000;

/** Connects to NATS and the registry and builds the mesh parts around `manager`. */
export async function createMesh(options: MeshOptions & { manager: ModelManager; logger: Logger; telemetry?: InferenceTelemetry }): Promise<Mesh> {
  const logger = options.logger;
  const nc = await connectNats({ url: options.natsUrl, name: `inference-${options.nodeId}`, ...options.natsSecurity });
  const credentials = options.clientCredentials ? { credentials: options.clientCredentials } : {};
  const registry = createRegistryClient(options.registryAddress, {
    ...credentials,
    ...(options.telemetry ? { tracer: options.telemetry.tracer } : {}),
    ...(options.registryToken ? { token: options.registryToken } : {}),
  });
  const peers = createPeerTable({ nc, selfNodeId: options.nodeId, logger: logger.child({ component: 'peers' }), ...(options.heartbeatTrust?.verifier ? { verifier: options.heartbeatTrust.verifier } : {}) });
  const budgetBytes = options.memoryBudgetBytes ?? 0;
  // The follower exists once the placement asks about this node (never before start()).
  let followerRef: RegistryFollower | undefined;
  const placement = createPlacement({
    nc,
    nodeId: options.nodeId,
    peers,
    logger: logger.child({ component: 'placement' }),
    intervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    ...(options.natsReplicas !== undefined ? { replicas: options.natsReplicas } : {}),
    self: () => ({
      freeBytes: budgetBytes > 0 ? budgetBytes - (followerRef?.modelBytes() ?? 0) : Number.POSITIVE_INFINITY,
      queueDepth: options.manager.statistics().reduce((n, s) => n + s.loaded.executor.queueDepth(), 0),
    }),
    onChange: (model) => void followerRef?.refresh(model).catch((err: unknown) => logger.warn('re-placing a model failed; the next check retries', { model, err })),
  });
  const cache = createArtifactCache({ dir: join(options.dataDir, 'artifacts'), registry, logger: logger.child({ component: 'artifacts' }) });
  const follower = createRegistryFollower({
    nc,
    registry,
    manager: options.manager,
    cache,
    nodeId: options.nodeId,
    logger: logger.child({ component: 'registry-follower' }),
    ...(options.telemetry ? { tracer: options.telemetry.tracer } : {}),
    ...(options.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: options.memoryBudgetBytes } : {}),
    ...(options.defaultInstances ? { defaultInstances: options.defaultInstances } : {}),
    ...(options.natsReplicas !== undefined ? { streamReplicas: options.natsReplicas } : {}),
    placement,
  });
  followerRef = follower;
  const forwarder = createPeerForwarder({
    nodeId: options.nodeId,
    logger: logger.child({ component: 'forward' }),
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    ...credentials,
  });
  const onModelMiss = createMeshMissHandler({
    peers, forwarder, follower, logger: logger.child({ component: 'mesh' }),
    // Two beats: a holder's claim is visible up to a beat before its heartbeat says READY.
    holderGraceMs: 2 * (options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS),
  });
  let heartbeat: HeartbeatPublisher | undefined;
  let closed: Promise<void> | undefined;
  return {
    nodeId: options.nodeId,
    nc,
    registry,
    follower,
    peers,
    placement,
    onModelMiss,
    get heartbeat() {
      return heartbeat;
    },
    start(grpcAddress) {
      if (heartbeat || closed) return;
      peers.start();
      heartbeat = createHeartbeatPublisher({
        nc,
        nodeId: options.nodeId,
        grpcAddress,
        manager: options.manager,
        logger: logger.child({ component: 'heartbeat' }),
        intervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
        modelBytes: () => follower.modelBytes(),
        memoryBudgetBytes: options.memoryBudgetBytes ?? 0,
        ...(options.heartbeatTrust?.signer ? { signer: options.heartbeatTrust.signer } : {}),
      });
      heartbeat.start();
      placement.start(grpcAddress).catch((err: unknown) => logger.warn('the placement bucket could not be opened yet; retrying on use', { err }));
      follower.start();
    },
    close() {
      closed ??= (async () => {
        // Replicas given up first: the others claim them without waiting for this node's beats to expire.
        await placement.close();
        await heartbeat?.close();
        peers.close();
        await follower.close();
        forwarder.close();
        registry.close();
        await settleWithin(nc.drain(), NATS_DRAIN_TIMEOUT_MS);
        if (!nc.isClosed()) await nc.close();
      })();
      return closed;
    },
  };
}
