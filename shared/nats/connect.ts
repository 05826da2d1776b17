import { readFile } from 'node:fs/promises';
import { nkeyAuthenticator } from '@nats-io/nats-core';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** Options for {@link connectNats}. */
export interface ConnectNatsOptions {
  /** `nats://host:port` (a comma-separated list is allowed). */
  url: string;
  /** Connection name shown by the server's monitoring, e.g. `registry`. */
  name?: string;
  /** Pause between reconnect attempts. Default: 250 ms. */
  reconnectTimeWaitMs?: number;
  /**
   * How long one connection attempt may take: the first, and each reconnect to one server of the
   * list. Default: 3000 ms (a server answers TCP and INFO within milliseconds; a cluster member
   * cut off by the network never answers, and each reconnect that picks it costs this long).
   */
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
  /**
   * TLS to the server: PEM bytes of the CA the server's certificate must chain
   * to, and the client certificate and key when the server asks for one (mTLS).
   * Default: plaintext (the connection is still upgraded if the server demands
   * TLS, and then trusts only the system roots).
   */
  tls?: { ca?: Uint8Array | string; cert?: Uint8Array | string; key?: Uint8Array | string };
  /** This service's NATS nkey seed (`SU...`), e.g. from {@link readNkeySeed}. Default: no credentials. */
  nkeySeed?: Uint8Array;
}

/** Defaults of {@link ConnectNatsOptions}. */
export const DEFAULT_CONNECT_NATS_OPTIONS = {
  reconnectTimeWaitMs: 250,
  timeoutMs: 3_000,
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
    ...(o.tls ? { tls: { ...pemString('ca', o.tls.ca), ...pemString('cert', o.tls.cert), ...pemString('key', o.tls.key) } } : {}),
    ...(o.nkeySeed ? { authenticator: nkeyAuthenticator(o.nkeySeed) } : {}),
  });
}

function pemString<K extends string>(key: K, value: Uint8Array | string | undefined): Partial<Record<K, string>> {
  if (value === undefined) return {};
  return { [key]: typeof value === 'string' ? value : Buffer.from(value).toString('utf8') } as Partial<Record<K, string>>;
}

/** Reads an nkey seed file (one `SU...` line, as `prepareSecureMesh` writes it); the error names the file. */
export async function readNkeySeed(file: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`the NATS nkey seed file '${file}' cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const seed = text.trim();
  if (!/^SU[A-Z2-7]{56}$/.test(seed)) throw new Error(`the NATS nkey seed file '${file}' does not hold a user seed (one line 'SU' followed by 56 base32 characters)`);
  return new TextEncoder().encode(seed);
}
