export { registerRecommenderCommands } from './cli/index.js';
