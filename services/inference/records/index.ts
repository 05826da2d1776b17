export { createPredictionRecorder, type PredictionRecorder, type PredictionRecorderOptions } from './prediction-recorder.js';
export { readRecordHashKey, REQUEST_ID_PARAMETER } from './hash-key.js';
