export { createRecommenderService, DEFAULT_RECOMMENDER_OPTIONS, type RecommenderService, type RecommenderServiceOptions } from './recommender-service.js';
