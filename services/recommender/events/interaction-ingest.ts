import { randomUUID } from 'node:crypto';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { invalidArgument } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { ensureStream } from '../../../shared/nats/index.js';
import type { NewInteraction, RecommenderStore } from '../store/index.js';
import { INTERACTIONS_STREAM, INTERACTIONS_STREAM_SPEC, INTERACTIONS_SUBJECT, interactionCodec, type Interaction__Output } from './interaction-events.js';

export interface InteractionIngestOptions {
  nc: NatsConnection;
  store: RecommenderStore;
  /** Item index of an id (the catalogue), undefined when unknown. */
  itemIndex: (id: string) => number | undefined;
  /** Told of every newly recorded interaction's item index. */
  onRecorded: (itemIdx: number[]) => void;
  /** Name of the durable consumer on INTERACTIONS. Default `recommender`. */
  durableName?: string;
  logger: Logger;
  clock?: () => number;
  /** Copies of the INTERACTIONS stream in a JetStream cluster (`--nats-replicas`). Default: the server's. */
  streamReplicas?: number;
}

/**
 * Interactions in and out of JetStream: `record` validates a batch, publishes
 * each event (Nats-Msg-Id = event id, so a retried publish is stored once)
 * and records it at once (a user's new clicks count in their next
 * recommendation without waiting for the consumer); the durable consumer
 * records what other publishers put on the stream. Recording is idempotent
 * by event id, so the two paths never count an event twice.
 */
export interface InteractionIngest {
  /** Ensures the stream and starts the durable consumer. */
  start(): Promise<void>;
  /** Validates (INVALID_ARGUMENT naming the entry and field), publishes, records. Returns how many were accepted. */
  record(list: readonly Interaction__Output[], signal?: AbortSignal): Promise<number>;
  /** Stops consuming. Idempotent. */
  close(): Promise<void>;
}

export function createInteractionIngest(o: InteractionIngestOptions): InteractionIngest {
  const clock = o.clock ?? Date.now;
  const durable = o.durableName ?? 'recommender';
  const js = jetstream(o.nc);
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  let closed = false;

  const validate = (it: Interaction__Output, where: string): NewInteraction => {
    if (!it.userId) throw invalidArgument(`${where}.user_id must be a non-empty string`);
    if (!it.itemId) throw invalidArgument(`${where}.item_id must be a non-empty string`);
    const itemIdx = o.itemIndex(it.itemId);
    if (itemIdx === undefined) throw invalidArgument(`${where}.item_id '${it.itemId}' is not in the catalogue (add it with UpsertItems first)`);
    if (!Number.isFinite(it.weight) || it.weight < 0) throw invalidArgument(`${where}.weight must be a finite number ≥ 0, got ${it.weight}`);
    const time = Number(it.timeUnixMs);
    if (!Number.isFinite(time) || time < 0) throw invalidArgument(`${where}.time_unix_ms must be ≥ 0, got ${it.timeUnixMs}`);
    return { eventId: it.eventId || randomUUID(), userId: it.userId, itemIdx, kind: it.kind || 'interaction', weight: it.weight || 1, timeMs: time || clock() };
  };

  const persist = (list: NewInteraction[]) => {
    if (list.length === 0) return 0;
    const { recorded, fresh } = o.store.recordInteractions(list);
    // Popularity counts only what was new (a replayed event id is ignored by the store).
    if (recorded > 0) o.onRecorded(fresh.map((n) => list[n]!.itemIdx));
    return recorded;
  };

  const consume = async () => {
    const jsm = await jetstreamManager(o.nc);
    try {
      await jsm.consumers.info(INTERACTIONS_STREAM, durable);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
      await jsm.consumers.add(INTERACTIONS_STREAM, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: INTERACTIONS_SUBJECT });
    }
    const consumer = await js.consumers.get(INTERACTIONS_STREAM, durable);
    messages = await consumer.consume({ max_messages: 256 });
    for await (const m of messages) {
      let decoded: Interaction__Output;
      try {
        decoded = interactionCodec.decode(m.data);
      } catch (err) {
        o.logger.warn('dropping an interaction message that is not an infermesh.events.v1.Interaction', { err, seq: m.seq });
        m.term();
        continue;
      }
      try {
        persist([validate(decoded, 'interaction')]);
        m.ack();
      } catch (err) {
        o.logger.warn('dropping an invalid interaction event', { err, seq: m.seq });
        m.term();
      }
    }
  };

  return {
    async start() {
      await ensureStream(o.nc, { ...INTERACTIONS_STREAM_SPEC, ...(o.streamReplicas !== undefined ? { replicas: o.streamReplicas } : {}) });
      loop = (async () => {
        while (!closed) {
          try {
            await consume();
          } catch (err) {
            if (closed) return;
            o.logger.warn('interaction consumer failed; reopening', { err });
            await new Promise((r) => setTimeout(r, 500).unref());
          }
        }
      })();
    },
    async record(list, signal) {
      const valid = list.map((it, n) => validate(it, `interactions[${n}]`));
      for (let start = 0; start < valid.length; start += 512) {
        signal?.throwIfAborted();
        const batch = valid.slice(start, start + 512);
        await Promise.all(
          batch.map((it, n) =>
            js.publish(
              INTERACTIONS_SUBJECT,
              interactionCodec.encode({ userId: it.userId, itemId: list[start + n]!.itemId, kind: it.kind, weight: it.weight, timeUnixMs: String(it.timeMs), eventId: it.eventId }),
              { msgID: it.eventId },
            ),
          ),
        );
        persist(batch);
      }
      return valid.length;
    },
    async close() {
      if (closed) return;
      closed = true;
      messages?.stop();
      await loop?.catch(() => undefined);
    },
  };
}
