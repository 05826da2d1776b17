export { registerBenchCommands, benchFlags, benchAction } from './command.js';
export { runBench, assignCores } from './run-bench.js';
export { parseBenchOptions, type BenchOptions, type Mode, type Measure } from './options.js';
export { evaluateTargets, formatReport, type BenchReport, type CaseReport, type PointReport } from './report.js';
export type { LoadRow, TargetReport } from './report-rows.js';
export { EXTRA_RUNNERS } from './extra-runners.js';
export type { ExtraRunner, ExtraRunnerContext } from './extra-runner.js';
export { renderCaseChart } from './chart.js';
export { registerRecommenderBenchCommand } from './recommender-command.js';
