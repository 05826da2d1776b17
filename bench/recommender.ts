// The recommender's figures for the bench harness: call runRecommenderBench(options)
// from bench/main.ts (training time per epoch with its GFLOP/s; Recommend p50/p99 and
// throughput at concurrency 32 against 100,000 items).
export { runRecommenderBench, type RecommenderBenchOptions, type RecommenderBenchReport } from '../services/recommender/bench/index.js';
