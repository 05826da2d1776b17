import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../../../shared/logging/index.js';
import type { LoadedModelVersion } from '../../../shared/generated/infermesh/events/v1/LoadedModelVersion.js';
import type { NodeHeartbeat } from '../../../shared/generated/infermesh/events/v1/NodeHeartbeat.js';
import type { ModelManager, VersionState } from '../models/index.js';
import { heartbeatCodec, heartbeatSubject } from './heartbeat-codec.js';
import { HEARTBEAT_SIGNATURE_HEADER, signHeartbeat, type HeartbeatSigner } from './node-identity.js';
import { settleWithin } from './settle-within.js';

const FLUSH_TIMEOUT_MS = 1000;

/** Defaults of {@link HeartbeatPublisherOptions}. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;

/** Options of {@link createHeartbeatPublisher}. */
export interface HeartbeatPublisherOptions {
  nc: NatsConnection;
  nodeId: string;
  /** `host:port` of this node's gRPC server, as peers should dial it. */
  grpcAddress: string;
  manager: ModelManager;
  logger: Logger;
  /** Beat period in ms. Default 1000. */
  intervalMs?: number;
  /** Bytes of the model artifacts this node loaded (for `memory.model_bytes`). Default: 0. */
  modelBytes?: () => number;
  /** The node's memory budget in bytes (0 = none). */
  memoryBudgetBytes?: number;
  /** Clock in ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Sign every beat with the node's key and carry its identity (see node-identity.ts). Default: unsigned. */
  signer?: HeartbeatSigner;
}

/** Publishes this node's heartbeat on `infermesh.node.heartbeat.<node>` every interval. */
export interface HeartbeatPublisher {
  /** Publishes one beat now and then one per interval. */
  start(): void;
  /** The beat that would be published now. */
  snapshot(): NodeHeartbeat;
  /** Stops beating and publishes a last beat with `leaving` set (flushed). Idempotent. */
  close(): Promise<void>;
}

const STATE: Record<VersionState, LoadedModelVersion['state']> = {
  LOADING: 'MODEL_VERSION_STATE_LOADING',
  READY: 'MODEL_VERSION_STATE_READY',
  UNAVAILABLE: 'MODEL_VERSION_STATE_UNAVAILABLE',
  UNLOADING: 'MODEL_VERSION_STATE_UNLOADING',
};

/** Creates a {@link HeartbeatPublisher}. */
export function createHeartbeatPublisher(options: HeartbeatPublisherOptions): HeartbeatPublisher {
  const intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const now = options.now ?? Date.now;
  const subject = heartbeatSubject(options.nodeId);
  const codec = heartbeatCodec();
  let sequence = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed: Promise<void> | undefined;

  const snapshot = (leaving = false): NodeHeartbeat => {
    const queueDepths = new Map<string, number>();
    for (const s of options.manager.statistics()) queueDepths.set(`${s.loaded.model}/${s.loaded.version}`, s.loaded.executor.queueDepth());
    const rows = options.manager.list().filter((s) => s.version !== '');
    const devices = new Set<string>();
    const models: LoadedModelVersion[] = rows.map((s) => {
      for (const d of s.devices) devices.add(d);
      return {
        model: s.model,
        version: s.version,
        state: STATE[s.state],
        queueDepth: queueDepths.get(`${s.model}/${s.version}`) ?? 0,
        inFlight: s.inFlight,
        devices: [...s.devices],
        servesDefault: servesDefault(options.manager, s.model, s.version, rows),
      };
    });
    return {
      nodeId: options.nodeId,
      grpcAddress: options.grpcAddress,
      timeUnixMs: now(),
      sequence: ++sequence,
      intervalMs,
      devices: devices.size > 0 ? [...devices] : ['cpu'],
      models,
      memory: { rssBytes: process.memoryUsage.rss(), modelBytes: options.modelBytes?.() ?? 0, budgetBytes: options.memoryBudgetBytes ?? 0 },
      leaving,
      ...(options.signer ? { identity: options.signer.identity } : {}),
    };
  };

  const publish = (leaving = false) => {
    try {
      const payload = codec.encode(snapshot(leaving));
      if (options.signer) {
        const h = natsHeaders();
        h.set(HEARTBEAT_SIGNATURE_HEADER, signHeartbeat(options.signer, subject, payload));
        options.nc.publish(subject, payload, { headers: h });
      } else {
        options.nc.publish(subject, payload);
      }
    } catch (err) {
      // A closed or reconnecting connection: the next beat tries again.
      options.logger.debug('heartbeat not published', { err });
    }
  };

  return {
    start() {
      if (timer || closed) return;
      publish();
      timer = setInterval(() => publish(), intervalMs);
      timer.unref();
    },
    snapshot: () => snapshot(),
    close() {
      closed ??= (async () => {
        if (timer) clearInterval(timer);
        publish(true);
        // Without a connection the flush would wait for one: the beat is best effort.
        await settleWithin(options.nc.flush(), FLUSH_TIMEOUT_MS);
      })();
      return closed;
    },
  };
}

/** Whether `version` is what an unversioned request gets on this node: the routing default, else the highest READY version. */
function servesDefault(manager: ModelManager, model: string, version: string, rows: ReadonlyArray<{ model: string; version: string; state: VersionState }>): boolean {
  const routed = manager.routing(model).default;
  if (routed !== undefined) return routed === version;
  const ready = rows.filter((r) => r.model === model && r.state === 'READY').map((r) => Number(r.version));
  return ready.length > 0 && Math.max(...ready) === Number(version);
}
