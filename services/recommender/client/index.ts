export { createRecommenderClient, type RecommenderClient, type RecommenderCallOptions, type RecommenderClientOptions } from './recommender-client.js';
