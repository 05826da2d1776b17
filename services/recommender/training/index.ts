export { trainAndEvaluate, metricNames, type TrainingData, type TrainOutcome } from './train-and-evaluate.js';
export { runTraining } from './run-training.js';
