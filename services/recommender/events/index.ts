export { INTERACTIONS_STREAM, INTERACTIONS_SUBJECT, interactionCodec, type Interaction__Output } from './interaction-events.js';
export { createInteractionIngest, type InteractionIngest } from './interaction-ingest.js';
