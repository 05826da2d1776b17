export { registerBenchCommands, benchFlags, benchAction } from './command.js';
export { runBench, assignCores } from './run-bench.js';
export { parseBenchOptions, type BenchOptions, type Mode, type Measure } from './options.js';
export { evaluateTargets, formatReport, type BenchReport, type CaseReport, type LoadRow, type PointReport, type TargetReport } from './report.js';
export { EXTRA_RUNNERS, type ExtraRunner, type ExtraRunnerContext } from './extra-runners.js';
export { renderCaseChart } from './chart.js';
export { registerRecommenderBenchCommand } from './recommender-command.js';
