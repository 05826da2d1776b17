import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { RegistryEvent__Output } from '../generated/infermesh/events/v1/RegistryEvent.js';
import { REGISTRY_STREAM, REGISTRY_SUBJECTS, decodeRegistryEvent, registryModelFilter } from './registry-events.js';

/** Options of {@link consumeRegistryEvents}. */
export interface ConsumeRegistryEventsOptions {
  /** Only this model's events. Default: every model. */
  model?: string;
  /**
   * `all` (the default) replays the stream from its start, then follows it;
   * `new` delivers only events published after the call.
   */
  deliver?: 'all' | 'new';
  /** Ends the iteration. */
  signal?: AbortSignal;
}

/** One registry event as it came off the REGISTRY stream. */
export interface ConsumedRegistryEvent {
  subject: string;
  /** The message's sequence in the JetStream stream (not the registry's `event.sequence`). */
  streamSequence: number;
  /** The `traceparent` header, when the change carried a trace. */
  traceparent?: string;
  event: RegistryEvent__Output;
}

/**
 * Follows the REGISTRY stream with an ordered (ephemeral, flow-controlled)
 * JetStream consumer, yielding decoded events in order. The consumer recreates
 * itself after a NATS restart and resumes where it was. The stream must exist:
 * the registry creates it when it starts.
 */
export async function* consumeRegistryEvents(nc: NatsConnection, options: ConsumeRegistryEventsOptions = {}): AsyncGenerator<ConsumedRegistryEvent> {
  const consumer = await jetstream(nc).consumers.get(REGISTRY_STREAM, {
    filter_subjects: options.model ? registryModelFilter(options.model) : REGISTRY_SUBJECTS,
    deliver_policy: options.deliver === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
  });
  const messages = await consumer.consume();
  const stop = () => void messages.close();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    if (options.signal?.aborted) return;
    for await (const m of messages) {
      yield { subject: m.subject, streamSequence: m.seq, traceparent: m.headers?.get('traceparent') || undefined, event: decodeRegistryEvent(m.data) };
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await messages.close();
  }
}
