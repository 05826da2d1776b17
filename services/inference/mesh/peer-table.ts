import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Logger } from '../../../shared/logging/index.js';
import type { NodeHeartbeat__Output } from '../../../shared/generated/infermesh/events/v1/NodeHeartbeat.js';
import { HEARTBEAT_SUBJECTS, heartbeatCodec } from './heartbeat-codec.js';

/** Defaults of {@link PeerTableOptions}. */
export const DEFAULT_PEER_TABLE_OPTIONS = {
  /** A peer is dropped after this many beats went missing. */
  missedBeats: 3,
} as const;

/** Another inference node, as its latest heartbeat describes it. */
export interface Peer {
  nodeId: string;
  grpcAddress: string;
  /** When its latest beat arrived here (this node's clock, ms). */
  seenAtMs: number;
  heartbeat: NodeHeartbeat__Output;
}

/** Options of {@link createPeerTable}. */
export interface PeerTableOptions {
  nc: NatsConnection;
  /** This node's id: its own beats are ignored. */
  selfNodeId: string;
  logger: Logger;
  /** Missed beats before a peer expires. Default 3. */
  missedBeats?: number;
  /** Clock in ms. Default Date.now. */
  now?: () => number;
}

/** The other nodes of the mesh, learned from heartbeats; peers expire after a few missed beats. */
export interface PeerTable {
  /** Subscribes to `infermesh.node.heartbeat.*`. */
  start(): void;
  /** Live peers (expired ones are dropped on read). */
  peers(): Peer[];
  /**
   * Live peers whose beat says they hold `model` READY: with `version`, that
   * version; without, the version that serves the model's unversioned requests
   * there. Least loaded (queue depth, then requests in flight) first.
   */
  holders(model: string, version?: string): Peer[];
  /** Drops a peer until its next beat (e.g. it did not answer). */
  forget(nodeId: string): void;
  /** Resolves once the live peers satisfy `predicate` (checked now and on every beat), or rejects after `timeoutMs`. */
  waitFor(predicate: (peers: Peer[]) => boolean, timeoutMs: number): Promise<void>;
  /** Unsubscribes. Idempotent. */
  close(): void;
}

/** Creates a {@link PeerTable}. */
export function createPeerTable(options: PeerTableOptions): PeerTable {
  const missedBeats = options.missedBeats ?? DEFAULT_PEER_TABLE_OPTIONS.missedBeats;
  const now = options.now ?? Date.now;
  const codec = heartbeatCodec();
  const table = new Map<string, Peer>();
  const waiters = new Set<() => void>();
  let subscription: Subscription | undefined;
  let closed = false;

  const expired = (p: Peer) => now() - p.seenAtMs > missedBeats * Math.max(p.heartbeat.intervalMs, 1) + 250;
  const live = (): Peer[] => {
    for (const [id, p] of table) if (expired(p)) table.delete(id);
    return [...table.values()];
  };

  const receive = (data: Uint8Array) => {
    let beat: NodeHeartbeat__Output;
    try {
      beat = codec.decode(data);
    } catch (err) {
      options.logger.warn('dropping a malformed heartbeat', { err });
      return;
    }
    if (beat.nodeId === options.selfNodeId) return;
    if (beat.leaving) {
      if (table.delete(beat.nodeId)) options.logger.info('peer left', { peer: beat.nodeId });
    } else {
      if (!table.has(beat.nodeId)) options.logger.info('peer joined', { peer: beat.nodeId, grpc: beat.grpcAddress });
      table.set(beat.nodeId, { nodeId: beat.nodeId, grpcAddress: beat.grpcAddress, seenAtMs: now(), heartbeat: beat });
    }
    for (const w of waiters) w();
  };

  const load = (p: Peer, model: string, version: string | undefined) => {
    const row = p.heartbeat.models.find((m) => m.model === model && m.state === 'MODEL_VERSION_STATE_READY' && (version ? m.version === version : m.servesDefault));
    return row ? [row.queueDepth, row.inFlight] : undefined;
  };

  return {
    start() {
      if (subscription || closed) return;
      subscription = options.nc.subscribe(HEARTBEAT_SUBJECTS, { callback: (err, msg) => (err ? options.logger.debug('heartbeat subscription', { err }) : receive(msg.data)) });
    },
    peers: live,
    holders(model, version) {
      return live()
        .map((p) => ({ p, l: load(p, model, version) }))
        .filter((x): x is { p: Peer; l: number[] } => x.l !== undefined)
        .sort((a, b) => a.l[0]! - b.l[0]! || a.l[1]! - b.l[1]!)
        .map((x) => x.p);
    },
    forget(nodeId) {
      table.delete(nodeId);
    },
    waitFor(predicate, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(live())) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`peer table: condition not met within ${timeoutMs} ms`));
        }, timeoutMs);
        timer.unref();
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      if (closed) return;
      closed = true;
      subscription?.unsubscribe();
      table.clear();
    },
  };
}
