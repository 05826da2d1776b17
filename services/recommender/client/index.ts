export { createRecommenderClient, type RecommenderClient, type RecommenderCallOptions } from './recommender-client.js';
