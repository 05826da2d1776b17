export { openRecommenderStore, type RecommenderStore, type StoredModel, type CatalogueItem, type NewInteraction } from './recommender-store.js';
