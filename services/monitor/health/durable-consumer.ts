import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../../../shared/logging/index.js';
import { ensureStream, type StreamSpec } from '../../../shared/nats/index.js';

/** What the handler decided about one message. */
export type Disposition = 'ack' | 'term';

export interface DurableConsumerOptions {
  nc: NatsConnection;
  stream: StreamSpec;
  durableName: string;
  /** Handles one message synchronously (the store is synchronous); a throw naks it for redelivery. */
  handle: (msg: JsMsg) => Disposition;
  logger: Logger;
  /** Pause before reopening after a failure. Default 500 ms. */
  retryDelayMs?: number;
}

export interface DurableConsumer {
  start(): Promise<void>;
  /** Stops consuming (acks already sent stay). Idempotent. */
  close(): Promise<void>;
}

/**
 * A durable, explicitly acked JetStream pull consumer that reopens itself when
 * NATS goes away: a restart resumes after the last acked message, and a
 * message is acked only after the handler stored it.
 */
export function createDurableConsumer(o: DurableConsumerOptions): DurableConsumer {
  const js = jetstream(o.nc);
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  let closed = false;
  let wake: (() => void) | undefined;

  const consume = async () => {
    await ensureStream(o.nc, o.stream);
    const jsm = await jetstreamManager(o.nc);
    try {
      await jsm.consumers.info(o.stream.name, o.durableName);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
      await jsm.consumers.add(o.stream.name, { durable_name: o.durableName, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: 30_000_000_000, max_ack_pending: 4096 });
    }
    const consumer = await js.consumers.get(o.stream.name, o.durableName);
    messages = await consumer.consume({ max_messages: 512 });
    if (closed) messages.stop();
    for await (const m of messages) {
      let disposition: Disposition;
      try {
        disposition = o.handle(m);
      } catch (err) {
        o.logger.warn('message handling failed; it will be redelivered', { err, stream: o.stream.name, seq: m.seq });
        m.nak(1000);
        continue;
      }
      if (disposition === 'ack') m.ack();
      else m.term();
    }
  };

  return {
    async start() {
      loop ??= (async () => {
        while (!closed) {
          try {
            await consume();
          } catch (err) {
            if (closed) return;
            o.logger.warn('consumer failed; reopening', { err, stream: o.stream.name, durable: o.durableName });
          }
          if (closed) return;
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, o.retryDelayMs ?? 500).unref();
          });
        }
      })();
    },
    async close() {
      if (closed) return;
      closed = true;
      messages?.stop();
      wake?.();
      await loop?.catch(() => undefined);
    },
  };
}
