export { createRecommenderService, DEFAULT_RECOMMENDER_OPTIONS, type RecommenderService, type RecommenderServiceOptions } from './recommender-service.js';
export { createModelTrainer, DEFAULT_SCORER_CONFIG, type ModelTrainer, type ModelTrainerOptions, type TrainResult } from './model-trainer.js';
