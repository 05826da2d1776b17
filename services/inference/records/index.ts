export { createPredictionRecorder, DEFAULT_PREDICTION_RECORDER_OPTIONS, type PredictionRecorder, type PredictionRecorderOptions, type PredictionRecorderStats } from './prediction-recorder.js';
export { buildPredictionRecord, SUMMARY_BINS, type RecordSource } from './record-builder.js';
export { readRecordHashKey, REQUEST_ID_PARAMETER } from './hash-key.js';
