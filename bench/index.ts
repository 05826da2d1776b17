export { registerBenchCommands, benchFlags, benchAction } from './command.js';
export { runBench, assignCores } from './run-bench.js';
export { parseBenchOptions, type BenchOptions, type Mode, type Measure } from './options.js';
export { evaluateTargets, formatReport, type BenchReport, type CaseReport, type PointReport, type TargetReport } from './report.js';
export { renderCaseChart } from './chart.js';
