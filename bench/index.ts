export { registerBenchCommands } from './command.js';
export { type BenchReport } from './report.js';
export { registerRecommenderBenchCommand } from './recommender-command.js';
