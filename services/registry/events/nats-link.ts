import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../../../shared/logging/index.js';
import { connectNats, type ConnectNatsOptions } from '../../../shared/nats/index.js';
import { Backoff, type BackoffOptions } from '../../../shared/rpc/index.js';

/** Options of {@link connectInBackground}. */
export interface NatsLinkOptions {
  url: string;
  /** Connection name shown by the server. */
  name: string;
  logger: Logger;
  /** How long one connection attempt may take. Default: 2000 ms. */
  attemptTimeoutMs?: number;
  /** Pauses between attempts (shared/rpc Backoff). Default: from 250 ms, doubling up to 5000 ms. */
  backoff?: BackoffOptions;
  /** TLS and nkey credentials of the connection (shared/tls `loadNatsSecurity`). Default: plaintext, none. */
  security?: Pick<ConnectNatsOptions, 'tls' | 'nkeySeed'>;
}

/** The registry's NATS connection, made in the background. */
export interface NatsLink {
  /** Resolves with the connection once the first attempt succeeds (never rejects; pending while NATS is unreachable). */
  readonly connection: Promise<NatsConnection>;
  /** Resolves after the first attempt (at most `attemptTimeoutMs`): true when it connected. */
  readonly firstAttempt: Promise<boolean>;
  /** The connection, once made. */
  readonly current: NatsConnection | undefined;
  /** Stops trying; drains the connection when there is one. Idempotent. */
  close(): Promise<void>;
}

/**
 * Connects to NATS without holding up the caller: the registry serves while
 * NATS is unreachable (its outbox keeps the events, and they go out once the
 * connection is made). Once connected, the client reconnects by itself for
 * ever (shared/nats `connectNats`).
 */
export function connectInBackground(options: NatsLinkOptions): NatsLink {
  const stop = new AbortController();
  let current: NatsConnection | undefined;
  let firstAttemptDone!: (connected: boolean) => void;
  const firstAttempt = new Promise<boolean>((resolve) => (firstAttemptDone = resolve));
  const connection = (async (): Promise<NatsConnection> => {
    const backoff = new Backoff(options.backoff);
    for (let attempt = 1; ; attempt++) {
      try {
        const nc = await connectNats({ url: options.url, name: options.name, timeoutMs: options.attemptTimeoutMs ?? 2000, ...options.security });
        if (stop.signal.aborted) {
          await nc.close();
          return new Promise<never>(() => {});
        }
        if (attempt > 1) options.logger.info('connected to NATS; events held in the outbox go out now', { url: options.url, attempts: attempt });
        current = nc;
        firstAttemptDone(true);
        return nc;
      } catch (err) {
        firstAttemptDone(false);
        if (stop.signal.aborted) return new Promise<never>(() => {});
        if (attempt === 1) options.logger.warn('NATS is unreachable; serving anyway, events wait in the outbox until it is back', { url: options.url, err });
        await backoff.wait(stop.signal);
        if (stop.signal.aborted) return new Promise<never>(() => {});
      }
    }
  })();
  let closed: Promise<void> | undefined;
  return {
    connection,
    firstAttempt,
    get current() {
      return current;
    },
    close: () =>
      (closed ??= (async () => {
        stop.abort();
        await current?.drain().catch((err: unknown) => options.logger.warn('draining NATS failed', { err }));
      })()),
  };
}
