import {
  ALERTS_STREAM,
  ALERTS_SUBJECT_PREFIX,
  createEventCodec,
  FEEDBACK_STREAM,
  FEEDBACK_SUBJECT_PREFIX,
  PREDICTIONS_STREAM,
  PREDICTIONS_SUBJECT_PREFIX,
  subjectToken,
  type StreamSpec,
} from '../nats/index.js';
import type { Alert, Alert__Output } from '../generated/infermesh/events/v1/Alert.js';
import type { Feedback, Feedback__Output } from '../generated/infermesh/events/v1/Feedback.js';
import type { PredictionRecord, PredictionRecord__Output } from '../generated/infermesh/events/v1/PredictionRecord.js';
import type { PredictionRecordBatch, PredictionRecordBatch__Output } from '../generated/infermesh/events/v1/PredictionRecordBatch.js';

/**
 * The model-health streams (DESIGN.md, second wave): prediction records from
 * the inference nodes, ground truth from anyone, alerts from the monitor. All
 * protobuf, all bounded by age and bytes. Whoever publishes or consumes first
 * creates the stream (ensureStream is idempotent).
 */

// Stream and subject names are shared/nats/subjects.ts's; re-exported for the monitor's importers.
export { PREDICTIONS_STREAM, FEEDBACK_STREAM, ALERTS_STREAM, subjectToken };

/** `infermesh.predictions.<model>`: model names are one subject token for NATS (dots and wildcards are escaped). */
export const predictionsSubject = (model: string) => `${PREDICTIONS_SUBJECT_PREFIX}.${subjectToken(model)}`;
export const feedbackSubject = (model: string) => `${FEEDBACK_SUBJECT_PREFIX}.${subjectToken(model)}`;
export const alertsSubject = (kind: string) => `${ALERTS_SUBJECT_PREFIX}.${subjectToken(kind)}`;

/** PREDICTIONS: 24 hours, 1 GiB. */
export const PREDICTIONS_STREAM_SPEC: StreamSpec = {
  name: PREDICTIONS_STREAM,
  subjects: [`${PREDICTIONS_SUBJECT_PREFIX}.>`],
  duplicateWindowMs: 60_000,
  maxAgeMs: 24 * 3_600_000,
  maxBytes: 1024 * 1024 * 1024,
};

/** FEEDBACK: 7 days, 256 MiB. */
export const FEEDBACK_STREAM_SPEC: StreamSpec = {
  name: FEEDBACK_STREAM,
  subjects: [`${FEEDBACK_SUBJECT_PREFIX}.>`],
  duplicateWindowMs: 120_000,
  maxAgeMs: 7 * 24 * 3_600_000,
  maxBytes: 256 * 1024 * 1024,
};

/** ALERTS: 30 days, 64 MiB. */
export const ALERTS_STREAM_SPEC: StreamSpec = {
  name: ALERTS_STREAM,
  subjects: [`${ALERTS_SUBJECT_PREFIX}.>`],
  duplicateWindowMs: 120_000,
  maxAgeMs: 30 * 24 * 3_600_000,
  maxBytes: 64 * 1024 * 1024,
};

export const predictionRecordCodec = createEventCodec<PredictionRecord, PredictionRecord__Output>('infermesh/events/v1/predictions.proto', 'infermesh.events.v1.PredictionRecord');
export const predictionRecordBatchCodec = createEventCodec<PredictionRecordBatch, PredictionRecordBatch__Output>('infermesh/events/v1/predictions.proto', 'infermesh.events.v1.PredictionRecordBatch');

/** NATS header naming the protobuf message a PREDICTIONS message holds; absent means one PredictionRecord. */
export const PREDICTIONS_MESSAGE_HEADER = 'Infermesh-Message';
/** {@link PREDICTIONS_MESSAGE_HEADER}'s value on a single record (the default when the header is absent). */
export const PREDICTION_RECORD_TYPE = 'infermesh.events.v1.PredictionRecord';
/** {@link PREDICTIONS_MESSAGE_HEADER}'s value on a batch. */
export const PREDICTION_RECORD_BATCH_TYPE = 'infermesh.events.v1.PredictionRecordBatch';
/**
 * Most records one PREDICTIONS message may hold: the monitor identifies a
 * record as `seq * MAX_RECORDS_PER_MESSAGE + index`, which stays an exact
 * integer for stream sequences below 2^41.
 */
export const MAX_RECORDS_PER_MESSAGE = 4096;

export const feedbackCodec = createEventCodec<Feedback, Feedback__Output>('infermesh/events/v1/feedback.proto', 'infermesh.events.v1.Feedback');
export const alertCodec = createEventCodec<Alert, Alert__Output>('infermesh/events/v1/alerts.proto', 'infermesh.events.v1.Alert');

export type { PredictionRecord, PredictionRecord__Output, PredictionRecordBatch, PredictionRecordBatch__Output, Feedback, Feedback__Output, Alert, Alert__Output };
