export { INTERACTIONS_STREAM, INTERACTIONS_SUBJECT, INTERACTIONS_STREAM_SPEC, interactionCodec, type Interaction, type Interaction__Output } from './interaction-events.js';
export { createInteractionIngest, type InteractionIngest, type InteractionIngestOptions } from './interaction-ingest.js';
