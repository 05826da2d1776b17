import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers } from '@nats-io/nats-core';
import { registryEventMessageId } from '../../../shared/registry-client/registry-events.js';
import type { OutboxEvent } from '../store/index.js';

/** The W3C trace context header carried on every event that has one. */
export const TRACEPARENT_HEADER = 'traceparent';

/**
 * Publishes one outbox event to JetStream: the one place where registry events
 * leave the process. `Nats-Msg-Id` is `<registryId>:<sequence>`, so a resend
 * (after a crash between the ack and marking the row) is dropped by the stream
 * as a duplicate; `traceparent` carries the trace of the change that made it.
 */
export function publishRegistryEvent(js: JetStreamClient, registryId: string, event: OutboxEvent, ackTimeoutMs: number): Promise<PubAck> {
  const h = headers();
  if (event.traceparent) h.set(TRACEPARENT_HEADER, event.traceparent);
  return js.publish(event.subject, event.payload, {
    msgID: registryEventMessageId(registryId, event.sequence),
    headers: h,
    timeout: ackTimeoutMs,
  });
}
