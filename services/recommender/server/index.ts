export { startRecommenderServer, type RecommenderServer } from './recommender-server.js';
