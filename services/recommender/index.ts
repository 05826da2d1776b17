export { registerRecommenderCommands } from './cli/index.js';
export { createRecommenderService, type RecommenderService } from './service/index.js';
export { createRecommenderClient, type RecommenderClient } from './client/index.js';
export { INTERACTIONS_STREAM, INTERACTIONS_SUBJECT, interactionCodec } from './events/index.js';
