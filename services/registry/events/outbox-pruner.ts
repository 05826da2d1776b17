import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../../../shared/logging/index.js';
import { decodeRegistryEvent, REGISTRY_STREAM } from '../../../shared/registry-client/index.js';
import type { RegistryStore } from '../store/index.js';

/** Options of {@link createOutboxPruner}. */
export interface OutboxPrunerOptions {
  store: RegistryStore;
  /** The current NATS connection; undefined while not connected (no pruning then). */
  nats: () => NatsConnection | undefined;
  logger: Logger;
  /** How often to prune. Default: 600000 ms (10 minutes). 0: only when pruneOnce() is called. */
  intervalMs?: number;
  /** Events published more recently than this stay, whatever the consumers did (Watch replays, consumers being created). Default: 3600000 ms (1 hour). */
  minAgeMs?: number;
  clock?: () => number;
}

/** Defaults of {@link OutboxPrunerOptions}. */
export const DEFAULT_OUTBOX_PRUNER_OPTIONS = { intervalMs: 600_000, minAgeMs: 3_600_000 } as const;

/** Prunes the outbox on a schedule; see {@link createOutboxPruner}. */
export interface OutboxPruner {
  /** One pruning pass; resolves with the rows removed (0 when NATS is not connected or a consumer has passed nothing). */
  pruneOnce(): Promise<number>;
  /** Stops the schedule. Idempotent. */
  close(): void;
}

/**
 * Keeps the outbox from growing for ever: deletes the events that are
 * published, older than `minAgeMs`, and that every consumer of the REGISTRY
 * stream has passed (its ack floor; with no consumer, every published event is
 * passed). The newest event always stays. A `Watch` from a pruned sequence is
 * answered with a snapshot of the current state (see the Watch handler).
 */
export function createOutboxPruner(options: OutboxPrunerOptions): OutboxPruner {
  const intervalMs = options.intervalMs ?? DEFAULT_OUTBOX_PRUNER_OPTIONS.intervalMs;
  const minAgeMs = options.minAgeMs ?? DEFAULT_OUTBOX_PRUNER_OPTIONS.minAgeMs;
  const clock = options.clock ?? Date.now;
  const { store, logger } = options;

  /** The registry sequence every consumer has passed, or undefined when it cannot be told. */
  const passedByAll = async (nc: NatsConnection): Promise<number | undefined> => {
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    let floor: number | undefined;
    for await (const consumer of jsm.consumers.list(REGISTRY_STREAM)) {
      floor = Math.min(floor ?? Infinity, consumer.ack_floor.stream_seq);
    }
    if (floor === undefined) return store.lastSequence();
    if (floor === 0) return 0;
    // Stream sequences need not be registry sequences (a stream recreated, another registry): read the event there.
    const message = await jsm.streams.getMessage(REGISTRY_STREAM, { seq: floor });
    return message ? Number(decodeRegistryEvent(message.data).sequence) : undefined;
  };

  const prune = async (): Promise<number> => {
    try {
      const nc = options.nats();
      if (!nc || nc.isClosed()) return 0;
      const through = await passedByAll(nc);
      if (!through) return 0;
      const removed = await store.pruneOutbox(through, clock() - minAgeMs);
      if (removed > 0) logger.info('pruned the outbox', { removed, throughSequence: through });
      return removed;
    } catch (err) {
      logger.warn('pruning the outbox failed; trying again later', { err });
      return 0;
    }
  };
  /** One pass at a time: a call while one runs gets that one's result. */
  let running: Promise<number> | undefined;
  const pruneOnce = () => {
    if (running) return running;
    const pass = prune();
    running = pass;
    void pass.finally(() => {
      if (running === pass) running = undefined;
    });
    return pass;
  };

  const timer = intervalMs > 0 ? setInterval(() => void pruneOnce(), intervalMs) : undefined;
  timer?.unref();
  return {
    pruneOnce,
    close: () => clearInterval(timer),
  };
}
