import { context as contextApi, ROOT_CONTEXT, type Tracer } from '@opentelemetry/api';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers } from '@nats-io/nats-core';
import { registryEventMessageId } from '../../../shared/registry-client/index.js';
import { extractFromHeaders, TRACEPARENT_HEADER, withPublishSpan } from '../../../shared/telemetry/index.js';
import type { OutboxEvent } from '../store/index.js';

/**
 * Publishes one outbox event to JetStream: the one place where registry events
 * leave the process. `Nats-Msg-Id` is `<registryId>:<sequence>`, so a resend
 * (after a crash between the ack and marking the row) is dropped by the stream
 * as a duplicate. An event whose change was traced carries its trace: with a
 * `tracer`, the publish is a PRODUCER span, a child of the change's `commit`
 * span, and `traceparent` names that span (so a node's consume span joins the
 * trace of the call that made the change); without one, the stored
 * `traceparent` goes out as it is.
 */
export function publishRegistryEvent(js: JetStreamClient, registryId: string, event: OutboxEvent, ackTimeoutMs: number, tracer?: Tracer): Promise<PubAck> {
  const publish = (h = headers()) => js.publish(event.subject, event.payload, { msgID: registryEventMessageId(registryId, event.sequence), headers: h, timeout: ackTimeoutMs });
  if (!event.traceparent) return publish();
  if (!tracer) {
    const h = headers();
    h.set(TRACEPARENT_HEADER, event.traceparent);
    return publish(h);
  }
  const change = extractFromHeaders(new Map([[TRACEPARENT_HEADER, event.traceparent]]), ROOT_CONTEXT);
  return contextApi.with(change, () => withPublishSpan(tracer, event.subject, headers(), publish));
}
