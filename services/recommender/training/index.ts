export { metricNames } from './train-and-evaluate.js';
export { runTraining } from './run-training.js';
