import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../logging/index.js';
import { ensureStream } from '../nats/index.js';
// The file, not the folder's index: the registry client imports shared/auth for its token option.
import { REGISTRY_STREAM, REGISTRY_STREAM_SPEC, decodeRegistryEvent } from '../registry-client/registry-events.js';
import { Backoff, type BackoffOptions } from '../rpc/backoff.js';
import { TOKEN_REVOKED_SUBJECT, applyRevocation } from './revocation.js';
import type { TokenVerifier } from './token-verifier.js';

/** Options of {@link followRevocations}. */
export interface RevocationFollowerOptions {
  nc: NatsConnection;
  verifier: TokenVerifier;
  logger: Logger;
  /** Pauses before reopening the consumer after a failure (e.g. the REGISTRY stream is not there yet). Default: DEFAULT_BACKOFF. */
  backoff?: BackoffOptions;
}

/** Applies every TokenRevoked event to a verifier, from the first one ever published, until close(). */
export interface RevocationFollower {
  /** Resolves once every revocation in the stream when the follower started has been applied. */
  synced(): Promise<void>;
  /** Revocations applied so far. */
  readonly applied: number;
  /** Stops following. Idempotent. */
  close(): Promise<void>;
}

/**
 * Follows TokenRevoked events with a JetStream ordered consumer over the
 * REGISTRY stream filtered on {@link TOKEN_REVOKED_SUBJECT}, delivering from
 * the start: an edge started after a revocation knows it too, and a new one
 * reaches the verifier as soon as NATS delivers it (well within a second).
 * Ordered consumers are ephemeral and need no acks; after a failure the
 * consumer is reopened (with backoff) from the start again, which is harmless
 * since revoking twice changes nothing.
 */
export function followRevocations(options: RevocationFollowerOptions): RevocationFollower {
  const { nc, verifier, logger } = options;
  const stop = new AbortController();
  const backoff = new Backoff(options.backoff);
  let messages: ConsumerMessages | undefined;
  let applied = 0;
  let markSynced!: () => void;
  const syncedPromise = new Promise<void>((resolve) => (markSynced = resolve));

  /** Revocations in the stream when the consumer opened: synced once that many came. */
  let expected = 0;
  const open = async (): Promise<ConsumerMessages> => {
    const jsm = await jetstreamManager(nc);
    await ensureStream(nc, REGISTRY_STREAM_SPEC, jsm);
    const info = await jsm.streams.info(REGISTRY_STREAM, { subjects_filter: TOKEN_REVOKED_SUBJECT });
    expected = info.state.subjects?.[TOKEN_REVOKED_SUBJECT] ?? 0;
    if (expected === 0) markSynced();
    // One subject as a string: a list needs nats-server 2.10.
    const consumer = await jetstream(nc).consumers.get(REGISTRY_STREAM, { filter_subjects: TOKEN_REVOKED_SUBJECT, deliver_policy: DeliverPolicy.All });
    return consumer.consume();
  };

  const loop = async () => {
    while (!stop.signal.aborted) {
      try {
        messages = await open();
        if (stop.signal.aborted) break;
        backoff.reset();
        let seen = 0;
        for await (const m of messages) {
          try {
            const notice = decodeRegistryEvent(m.data).tokenRevoked;
            if (notice) {
              applyRevocation(verifier, notice);
              applied++;
            }
          } catch (err) {
            logger.error('undecodable or unappliable revocation event; skipping it', { err, streamSequence: m.seq });
          }
          if (++seen >= expected) markSynced();
        }
      } catch (err) {
        if (stop.signal.aborted) break;
        if (nc.isClosed()) {
          logger.warn('revocation follower stops: its NATS connection is closed', { err });
          break;
        }
        logger.warn('revocation consumer failed; reopening', { err });
      } finally {
        await messages?.close().catch(() => undefined);
      }
      await backoff.wait(stop.signal);
    }
  };
  const running = loop();

  let closed: Promise<void> | undefined;
  return {
    synced: () => syncedPromise,
    get applied() {
      return applied;
    },
    close: () =>
      (closed ??= (async () => {
        stop.abort();
        await messages?.close().catch(() => undefined);
        await running;
      })()),
  };
}
