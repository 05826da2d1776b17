export {
  parseRatings,
  parseNegatives,
  readRatingsFile,
  readNegativesFile,
  formatRatings,
  formatNegatives,
  writeNcfFiles,
  ncfPaths,
  type NcfPaths,
  type Ratings,
  type LeaveOneOutCase,
} from './ncf-format.js';
export { evaluateLeaveOneOut, rankOfHeldOut, type RankingMetrics, type RankingScorer } from './leave-one-out.js';
export { itemPopularity, createPopularityScorer, createFactorScorer } from './scorers.js';
export { datasetShape, holdOutLatest, ratingsToInteractions } from './holdout.js';
export { tuneIals, DEFAULT_TUNE_GRID, type TuneGrid, type TuneOptions, type TuneTrial } from './tune.js';
export { runOfflineEvaluation, type OfflineEvaluation, type OfflineEvaluationOptions } from './offline.js';
