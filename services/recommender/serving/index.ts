export { createRecommendEngine, type RecommendEngine, type RecommendEngineOptions, type RecommendQuery, type RecommendAnswer, type ScoredItem, type CallContext } from './recommend-engine.js';
export { createServingModel, type ServingModel } from './serving-model.js';
export { Catalogue } from './catalogue.js';
export { traceContextFrom, type TraceContext } from './trace-context.js';
