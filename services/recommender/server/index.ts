export { createRecommenderHandlers, startRecommenderServer, type RecommenderServer, type RecommenderServerOptions } from './recommender-server.js';
