import { connect, type NatsConnection } from '@nats-io/transport-node';

/** Options for {@link connectNats}. */
export interface ConnectNatsOptions {
  /** `nats://host:port` (a comma-separated list is allowed). */
  url: string;
  /** Connection name shown by the server's monitoring, e.g. `registry`. */
  name?: string;
  /** Pause between reconnect attempts. Default: 250 ms. */
  reconnectTimeWaitMs?: number;
  /** How long the first connection attempt may take. Default: 10000 ms. */
  timeoutMs?: number;
  /**
   * Keep retrying when the server is unreachable at start-up instead of failing.
   * Default: false (a wrong URL at start-up is reported at once).
   */
  waitOnFirstConnect?: boolean;
  /**
   * How often the client pings its server; after `maxPingOut` unanswered pings the
   * connection counts as dead and the client moves to another server of the cluster.
   * Default: 2000 ms and 2, so a server cut off by the network (no reset ever arrives)
   * is left within about 4-6 s rather than nats.js's default of 2 x 2 minutes.
   */
  pingIntervalMs?: number;
  maxPingOut?: number;
}

/** Defaults of {@link ConnectNatsOptions}. */
export const DEFAULT_CONNECT_NATS_OPTIONS = {
  reconnectTimeWaitMs: 250,
  timeoutMs: 10_000,
  waitOnFirstConnect: false,
  pingIntervalMs: 2_000,
  maxPingOut: 2,
} as const;

/**
 * Connects to NATS the way every infermesh process does: reconnect forever
 * (`maxReconnectAttempts: -1`) with a short wait, so that an outage of the
 * server delays traffic but never ends the process's connection for good.
 * Close with `drain()`.
 */
export function connectNats(options: ConnectNatsOptions): Promise<NatsConnection> {
  const o = { ...DEFAULT_CONNECT_NATS_OPTIONS, ...options };
  return connect({
    servers: o.url.split(',').map((s) => s.trim()),
    name: o.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: o.reconnectTimeWaitMs,
    timeout: o.timeoutMs,
    waitOnFirstConnect: o.waitOnFirstConnect,
    pingInterval: o.pingIntervalMs,
    maxPingOut: o.maxPingOut,
  });
}
