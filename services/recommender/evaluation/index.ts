export { readRatingsFile, readNegativesFile, writeNcfFiles, type Ratings, type LeaveOneOutCase } from './ncf-format.js';
export { evaluateLeaveOneOut } from './leave-one-out.js';
export { itemPopularity, createPopularityScorer, createFactorScorer } from './scorers.js';
export { datasetShape, holdOutLatest, ratingsToInteractions } from './holdout.js';
export { tuneIals, DEFAULT_TUNE_GRID, type TuneGrid } from './tune.js';
export { runOfflineEvaluation } from './offline.js';
