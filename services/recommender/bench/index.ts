export { runRecommenderBench, type RecommenderBenchOptions, type RecommenderBenchReport } from './recommender-bench.js';
