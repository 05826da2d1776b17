export { createRecommendEngine, type RecommendEngine, type RecommendAnswer, type CallContext } from './recommend-engine.js';
export { createServingModel } from './serving-model.js';
