export { openRecommenderStore, type RecommenderStore, type StoredModel, type StoredInteraction, type CatalogueItem, type NewInteraction } from './recommender-store.js';
