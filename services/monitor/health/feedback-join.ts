import { Code, InfermeshError, invalidArgument, notFound } from '../../../shared/errors/index.js';
import type { Feedback__Output } from '../../../shared/monitor-client/index.js';
import type { HealthStore, StoredFeedback } from './health-store.js';

/** Most items one SubmitFeedback call may carry. */
export const MAX_FEEDBACK_ITEMS = 10_000;

/** The outcome of one feedback item. */
export interface FeedbackOutcome {
  code: Code;
  error: string;
  version: string;
  duplicate: boolean;
}

/**
 * Joins one feedback item to its stored prediction record and stores the
 * (prediction, truth) pairs. Per-item errors: INVALID_ARGUMENT for a malformed
 * item (no model, no id, no truth, truth that does not fit the prediction),
 * NOT_FOUND for an id the monitor holds no record of. A second feedback for
 * the same request is OK and marked duplicate (the first truth stays).
 */
export function joinFeedback(store: HealthStore, item: Feedback__Output, nowMs: number): FeedbackOutcome {
  try {
    if (!item.model) throw invalidArgument('feedback has no model');
    const id = item.requestId || item.traceId;
    if (!id) throw invalidArgument('feedback has neither request_id nor trace_id');
    if (!item.truth) throw invalidArgument(`feedback for '${id}' has no truth (label, value or tensor)`);
    const record = store.findRecord(item.model, id, !item.requestId);
    if (!record) {
      throw notFound(`no prediction record of model '${item.model}' with ${item.requestId ? 'request' : 'trace'} id '${id}' (not sampled, not received yet, or pruned by retention)`);
    }
    const predicted = record.features.predicted;
    const task = record.features.task;
    if (task === '' || predicted.length === 0) throw invalidArgument(`the prediction '${id}' of model '${item.model}' has no recorded output to compare with`);
    const truths = truthsOf(item, predicted.length, id);
    const pairs: StoredFeedback['pairs'] = predicted.map((p, i) => {
      const t = truths[i]!;
      if (task === 'regression') {
        const value = typeof t === 'number' ? t : Number(t);
        if (!Number.isFinite(value)) throw invalidArgument(`feedback for '${id}': model '${item.model}' is a regressor; the truth must be a number, got '${t}'`);
        return [p, value];
      }
      return [String(p), typeof t === 'number' ? String(t) : t];
    });
    const timeMs = Number(item.timeUnixNano) > 0 ? Math.floor(Number(item.timeUnixNano) / 1e6) : nowMs;
    const fresh = store.insertFeedback({ model: item.model, version: record.version, requestId: record.requestId, timeMs, task, pairs });
    return { code: Code.OK, error: '', version: record.version, duplicate: !fresh };
  } catch (err) {
    const e = InfermeshError.from(err);
    return { code: e.code, error: e.message, version: '', duplicate: false };
  }
}

function truthsOf(item: Feedback__Output, rows: number, id: string): Array<string | number> {
  if (item.truth === 'tensor') {
    const t = item.tensor!;
    const values: Array<string | number> = t.labels.length > 0 ? t.labels : t.values;
    if (values.length !== rows) throw invalidArgument(`feedback for '${id}' has ${values.length} truth value(s) but the request had ${rows} row(s)`);
    return values;
  }
  if (rows !== 1) throw invalidArgument(`feedback for '${id}': the request had ${rows} rows; send a tensor with one truth per row`);
  if (item.truth === 'label') {
    if (!item.label) throw invalidArgument(`feedback for '${id}' has an empty label`);
    return [item.label];
  }
  return [item.value ?? NaN];
}
