import { createEventCodec, INTERACTIONS_STREAM, INTERACTIONS_SUBJECT, type StreamSpec } from '../../../shared/nats/index.js';
import type { Interaction } from '../../../shared/generated/infermesh/events/v1/Interaction.js';
import type { Interaction__Output } from '../../../shared/generated/infermesh/events/v1/Interaction.js';

// The stream's and subject's names are shared/nats/subjects.ts's; re-exported for the recommender's importers.
export { INTERACTIONS_STREAM, INTERACTIONS_SUBJECT };

/** The stream as the recommender creates it (file storage, kept for 30 days, 2-minute duplicate window on Nats-Msg-Id = event id). */
export const INTERACTIONS_STREAM_SPEC: StreamSpec = {
  name: INTERACTIONS_STREAM,
  subjects: [INTERACTIONS_SUBJECT],
  duplicateWindowMs: 120_000,
  maxAgeMs: 30 * 24 * 3_600_000,
};

/** Protobuf codec of the payload, `infermesh.events.v1.Interaction`. */
export const interactionCodec = createEventCodec<Interaction, Interaction__Output>('infermesh/events/v1/interactions.proto', 'infermesh.events.v1.Interaction');

export type { Interaction, Interaction__Output };
