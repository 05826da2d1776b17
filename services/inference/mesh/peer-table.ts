import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Counter } from 'prom-client';
import type { Logger } from '../../../shared/logging/index.js';
import type { NodeHeartbeat__Output } from '../../../shared/generated/infermesh/events/v1/NodeHeartbeat.js';
import { HEARTBEAT_SUBJECT_PREFIX, HEARTBEAT_SUBJECTS, heartbeatCodec } from './heartbeat-codec.js';
import { HEARTBEAT_REJECTIONS, type HeartbeatRejection, type HeartbeatVerifier } from './node-identity.js';

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
  /**
   * Trust only heartbeats this verifier accepts (signed by a node whose identity
   * a trusted issuer signed; see node-identity.ts); the others are ignored and
   * counted. Default: every beat is trusted (plaintext local use).
   */
  verifier?: HeartbeatVerifier;
  /** Counts ignored heartbeats by `reason` (a HeartbeatRejection, or `malformed`), e.g. `infermesh_heartbeats_rejected_total`. */
  rejectedTotal?: Counter<'reason'>;
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
  /** Heartbeats ignored so far, by reason (`malformed` and each HeartbeatRejection). */
  rejectedHeartbeats(): Record<HeartbeatRejection | 'malformed', number>;
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
  const rejected = Object.fromEntries(['malformed', ...HEARTBEAT_REJECTIONS].map((r) => [r, 0])) as Record<HeartbeatRejection | 'malformed', number>;
  // Logged once per reason and sender subject at most every minute: a flood of forgeries must not flood the log.
  const lastWarnedMs = new Map<string, number>();
  const reject = (reason: HeartbeatRejection | 'malformed', subject: string, err?: unknown) => {
    rejected[reason]++;
    options.rejectedTotal?.inc({ reason });
    const key = `${reason} ${subject}`;
    const t = now();
    if ((lastWarnedMs.get(key) ?? -Infinity) > t - 60_000) return;
    if (lastWarnedMs.size >= 256) lastWarnedMs.clear();
    lastWarnedMs.set(key, t);
    options.logger.warn('ignoring a heartbeat', { reason, subject, ...(err ? { err } : {}) });
  };

  const expired = (p: Peer) => now() - p.seenAtMs > missedBeats * Math.max(p.heartbeat.intervalMs, 1) + 250;
  const live = (): Peer[] => {
    for (const [id, p] of table) if (expired(p)) table.delete(id);
    return [...table.values()];
  };

  const receive = (msg: Msg) => {
    let beat: NodeHeartbeat__Output;
    try {
      beat = codec.decode(msg.data);
    } catch (err) {
      reject('malformed', msg.subject, err);
      return;
    }
    if (beat.nodeId === options.selfNodeId) return;
    if (options.verifier) {
      const reason = options.verifier.check(msg.subject, msg.subject.slice(HEARTBEAT_SUBJECT_PREFIX.length + 1), msg.data, msg.headers, beat);
      if (reason) return reject(reason, msg.subject);
    }
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
      subscription = options.nc.subscribe(HEARTBEAT_SUBJECTS, { callback: (err, msg) => (err ? options.logger.debug('heartbeat subscription', { err }) : receive(msg)) });
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
    rejectedHeartbeats: () => ({ ...rejected }),
    close() {
      if (closed) return;
      closed = true;
      subscription?.unsubscribe();
      table.clear();
    },
  };
}
