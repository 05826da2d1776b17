import type { PredictionRecord__Output } from '../../../shared/monitor-client/index.js';
import type { RecordedTensor__Output } from '../../../shared/generated/infermesh/events/v1/RecordedTensor.js';

/** Above this many columns per row a tensor is profiled by its row mean (`<name>:mean`), not column by column. */
export const MAX_FEATURE_COLUMNS = 32;
/** A record tensor with more values than this is rejected as malformed. */
export const MAX_RECORD_TENSOR_VALUES = 1_000_000;

const CATEGORICAL_TYPES = new Set(['BOOL', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64']);

/** The name the monitor gives the predicted class of a classifier (a categorical output). */
export const PREDICTED_CLASS = 'predicted_class';

/** What the monitor keeps of one record: per-row values by feature name. */
export interface RecordFeatures {
  rows: number;
  /** Numeric features (floating-point inputs), one value per row. */
  numeric: Record<string, number[]>;
  /** Categorical features (integer and boolean inputs), one category per row. */
  categorical: Record<string, string[]>;
  /** Numeric outputs, one value per row. */
  outputs: Record<string, number[]>;
  /** The prediction per row: the class index as text (classifiers) or the first output value (regressors). */
  predicted: Array<string | number>;
  task: 'classification' | 'regression' | '';
}

/** A record that is not usable, with the reason counted in `infermesh_health_rejected_total{reason}`. */
export class MalformedRecordError extends Error {
  override readonly name = 'MalformedRecordError';
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

interface Columns {
  rows: number;
  /** Column name suffixes and per-row values. */
  columns: Array<{ suffix: string; values: number[] }>;
}

/** Splits a tensor into rows (first dim when it has two or more) and columns (or the row mean when wide). */
function columnsOf(t: RecordedTensor__Output, where: string): Columns | undefined {
  const shape = t.shape.map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new MalformedRecordError('bad_shape', `${where} '${t.name}' has shape [${t.shape.join(',')}]`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > MAX_RECORD_TENSOR_VALUES) throw new MalformedRecordError('too_large', `${where} '${t.name}' has ${count} values (at most ${MAX_RECORD_TENSOR_VALUES})`);
  if (t.treatment === 'TENSOR_TREATMENT_SUMMARY') {
    if (!t.summary || Number(t.summary.count) === 0) return undefined;
    return { rows: 1, columns: [{ suffix: ':mean', values: [t.summary.mean] }] };
  }
  if (t.treatment !== 'TENSOR_TREATMENT_VALUES' || t.bytesValues.length > 0) return undefined;
  if (t.values.length !== count) throw new MalformedRecordError('shape_mismatch', `${where} '${t.name}' has ${t.values.length} values but shape [${t.shape.join(',')}] needs ${count}`);
  const rows = shape.length >= 2 ? shape[0]! : 1;
  if (rows === 0) return { rows: 0, columns: [] };
  const width = count / rows;
  if (width > MAX_FEATURE_COLUMNS) {
    const means = Array.from({ length: rows }, (_, r) => {
      let sum = 0;
      for (let c = 0; c < width; c++) sum += t.values[r * width + c]!;
      return sum / width;
    });
    return { rows, columns: [{ suffix: ':mean', values: means }] };
  }
  return {
    rows,
    columns: Array.from({ length: width }, (_, c) => ({ suffix: width === 1 ? '' : `[${c}]`, values: Array.from({ length: rows }, (_, r) => t.values[r * width + c]!) })),
  };
}

/**
 * Validates a decoded record and extracts its features, outputs and
 * predictions. Throws MalformedRecordError (with a reason) when it lacks a
 * model, version or time, or a tensor's values do not fit its shape.
 */
export function extractRecordFeatures(record: PredictionRecord__Output): RecordFeatures {
  if (!record.model) throw new MalformedRecordError('missing_field', 'record has no model');
  if (!record.version) throw new MalformedRecordError('missing_field', `record of '${record.model}' has no version`);
  if (!(Number(record.timeUnixNano) > 0)) throw new MalformedRecordError('missing_field', `record of '${record.model}' has no time`);
  let rows = 0;
  const numeric: Record<string, number[]> = {};
  const categorical: Record<string, string[]> = {};
  for (const t of record.inputs) {
    const cols = columnsOf(t, 'input');
    if (!cols) continue;
    rows = Math.max(rows, cols.rows);
    const isCategorical = CATEGORICAL_TYPES.has(t.datatype);
    for (const c of cols.columns) {
      if (isCategorical && c.suffix !== ':mean') categorical[t.name + c.suffix] = c.values.map(String);
      else numeric[t.name + c.suffix] = c.values;
    }
  }
  const outputs: Record<string, number[]> = {};
  let predicted: Array<string | number> = [];
  let task: RecordFeatures['task'] = '';
  record.outputs.forEach((t, i) => {
    const cols = columnsOf(t, 'output');
    if (!cols) return;
    rows = Math.max(rows, cols.rows);
    for (const c of cols.columns) outputs[t.name + c.suffix] = c.values;
    if (i !== 0 || cols.columns[0]?.suffix === ':mean') return;
    const classifier = record.task === 'MODEL_TASK_CLASSIFICATION' || (record.task !== 'MODEL_TASK_REGRESSION' && cols.columns.length > 1);
    if (classifier) {
      task = 'classification';
      predicted = Array.from({ length: cols.rows }, (_, r) => {
        if (cols.columns.length === 1) return String(Math.round(cols.columns[0]!.values[r]!));
        let best = 0;
        for (let c = 1; c < cols.columns.length; c++) if (cols.columns[c]!.values[r]! > cols.columns[best]!.values[r]!) best = c;
        return String(best);
      });
    } else {
      task = 'regression';
      predicted = cols.columns[0]!.values.slice();
    }
  });
  return { rows, numeric, categorical, outputs, predicted, task };
}
