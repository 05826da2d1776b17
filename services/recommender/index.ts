export { registerRecommenderCommands } from './cli/index.js';
export { createRecommenderService, DEFAULT_RECOMMENDER_OPTIONS, type RecommenderService, type RecommenderServiceOptions, type TrainResult } from './service/index.js';
export { createRecommenderClient, type RecommenderClient, type RecommenderCallOptions } from './client/index.js';
export { INTERACTIONS_STREAM, INTERACTIONS_SUBJECT, interactionCodec } from './events/index.js';
export { exportScorerOnnx, SCORER_TENSORS, MASK_EXCLUDED } from './export/index.js';
export { DEFAULT_IALS_PARAMS, trainIals, createFoldIn, type FactorModel, type IalsParams } from './learning/index.js';
