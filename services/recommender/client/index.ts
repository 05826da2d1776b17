export { createRecommenderClient, type RecommenderClient } from './recommender-client.js';
