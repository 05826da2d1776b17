import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from '../../../shared/logging/index.js';
import type { RegistryMetrics } from '../../../shared/telemetry/index.js';
import { ensureStream } from '../../../shared/nats/index.js';
import { Backoff, sleep, type BackoffOptions } from '../../../shared/rpc/index.js';
import { REGISTRY_STREAM_SPEC } from '../../../shared/registry-client/index.js';
import { resolveOptions } from '../../../shared/options/index.js';
import type { RegistryStore } from '../store/index.js';
import { CommitSignal } from './commit-signal.js';
import { publishRegistryEvent } from './publish-event.js';

/** Options for {@link createOutboxPublisher}. */
export interface OutboxPublisherOptions {
  store: RegistryStore;
  /** The connection, or its promise while NATS is unreachable (events wait in the outbox meanwhile). */
  nats: NatsConnection | Promise<NatsConnection>;
  /** Wakes the publisher after each commit. */
  commits: CommitSignal;
  logger: Logger;
  /** Events read from the outbox per round. Default: 100. */
  batchSize?: number;
  /** How long to wait for JetStream's ack of one event. Default: 5000 ms. */
  ackTimeoutMs?: number;
  /** Pauses after failed rounds (shared/rpc Backoff). Default: from 100 ms, doubling up to 5000 ms. */
  backoff?: BackoffOptions;
  /** A wake-up without a commit, in case a signal was lost (another process wrote). Default: 2000 ms. */
  pollIntervalMs?: number;
  clock?: () => number;
  /** Traces each publish of a traced change (see publishRegistryEvent). */
  tracer?: Tracer;
  /** Copies of the REGISTRY stream it creates (`--nats-replicas`). Default: the server's. */
  streamReplicas?: number;
  /** Keeps `infermesh_registry_outbox_pending` up to date. */
  metrics?: RegistryMetrics;
}

/** Defaults of {@link OutboxPublisherOptions}. */
export const DEFAULT_OUTBOX_PUBLISHER_OPTIONS: Readonly<Required<Omit<OutboxPublisherOptions, 'store' | 'nats' | 'commits' | 'logger' | 'tracer' | 'metrics' | 'streamReplicas'>>> = {
  batchSize: 100,
  ackTimeoutMs: 5000,
  backoff: { initialDelayMs: 100, maxDelayMs: 5000 },
  pollIntervalMs: 2000,
  clock: Date.now,
};

/** Sends the outbox to JetStream in order; see {@link createOutboxPublisher}. */
export interface OutboxPublisher {
  /** Resolves when every event committed so far is acknowledged, or rejects after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
  /** Number of events acknowledged since start. */
  readonly publishedCount: number;
  /** Tries to flush for up to `flushTimeoutMs`, then stops. Unsent events stay in the outbox for the next start. Idempotent. */
  close(flushTimeoutMs?: number): Promise<void>;
}

/**
 * The transactional outbox's sender: reads unpublished events in sequence
 * order, publishes each to the REGISTRY stream (creating the stream when
 * missing), and marks it published once JetStream acknowledged it. A failure
 * (NATS down, no stream) pauses with exponential backoff and retries the same
 * event, so events are delayed, never lost or reordered.
 */
export function createOutboxPublisher(options: OutboxPublisherOptions): OutboxPublisher {
  const o = resolveOptions(DEFAULT_OUTBOX_PUBLISHER_OPTIONS, options);
  const { store, nats, commits, logger } = o;
  let nc: NatsConnection | undefined;
  let js: JetStreamClient | undefined;
  const stop = new AbortController();
  const progress = new CommitSignal();
  let streamReady = false;
  let published = 0;

  /** Events are published in sequence order, so what waits is everything after the last one acknowledged. */
  const countPending = async (lastAcked: number) => {
    if (!o.metrics) return;
    try {
      o.metrics.outboxPending.set(Math.max(0, (await store.lastSequence()) - lastAcked));
    } catch (err) {
      logger.debug('could not count pending events', { err });
    }
  };

  const round = async (): Promise<number> => {
    const pending = await store.unpublishedEvents(o.batchSize);
    if (pending.length === 0) {
      o.metrics?.outboxPending.set(0);
      return 0;
    }
    if (!nc || !js) {
      // Not connected yet: the events wait (and count as pending) until the connection is made.
      await countPending(pending[0]!.sequence - 1);
      const connected = await Promise.race([Promise.resolve(nats), sleep(o.pollIntervalMs, stop.signal).then(() => undefined)]);
      if (!connected) return 0;
      nc = connected;
      js = jetstream(connected);
    }
    if (!streamReady) {
      await ensureStream(nc, { ...REGISTRY_STREAM_SPEC, ...(o.streamReplicas !== undefined ? { replicas: o.streamReplicas } : {}) }, await jetstreamManager(nc));
      streamReady = true;
    }
    const acked: number[] = [];
    try {
      for (const event of pending) {
        if (stop.signal.aborted) break;
        const ack = await publishRegistryEvent(js, store.registryId, event, o.ackTimeoutMs, o.tracer);
        if (ack.duplicate) logger.info('event was already in the stream (resent after a restart)', { sequence: event.sequence });
        acked.push(event.sequence);
      }
    } finally {
      await store.markPublished(acked, o.clock());
      published += acked.length;
      if (acked.length > 0) progress.notify();
      await countPending(acked.length > 0 ? acked[acked.length - 1]! : pending[0]!.sequence - 1);
    }
    return pending.length;
  };

  const loop = (async () => {
    const backoff = new Backoff({ ...DEFAULT_OUTBOX_PUBLISHER_OPTIONS.backoff, ...o.backoff });
    while (!stop.signal.aborted) {
      const seen = commits.generation;
      try {
        const n = await round();
        backoff.reset();
        if (n === o.batchSize) continue;
        await commits.wait(seen, stop.signal, o.pollIntervalMs);
      } catch (err) {
        streamReady = false;
        const retryInMs = backoff.next();
        logger.warn('publishing registry events failed; retrying', { err, retryInMs });
        await sleep(retryInMs, stop.signal);
      }
    }
  })();

  const flush = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    const target = await store.lastSequence();
    for (;;) {
      const seen = progress.generation;
      const [oldest] = await store.unpublishedEvents(1);
      if (!oldest || oldest.sequence > target) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`registry events up to ${target} were not all acknowledged within ${timeoutMs} ms (oldest unpublished: ${oldest.sequence})`);
      await progress.wait(seen, undefined, Math.min(left, 200));
    }
  };

  let closed: Promise<void> | undefined;
  return {
    flush,
    get publishedCount() {
      return published;
    },
    close(flushTimeoutMs = 5000) {
      closed ??= (async () => {
        try {
          await flush(flushTimeoutMs);
        } catch (err) {
          logger.warn('stopping with registry events not yet published; they go out on the next start', { err });
        }
        stop.abort();
        await loop;
      })();
      return closed;
    },
  };
}
