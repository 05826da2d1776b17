import { createHmac } from 'node:crypto';
import type * as ort from 'onnxruntime-node';
import { datatypeFromOrt } from '../../../shared/onnx/index.js';
import { fromFloat16Bits } from '../../../shared/tensor/index.js';
import type { PredictionRecord } from '../../../shared/monitor-client/index.js';
import type { RecordedTensor } from '../../../shared/generated/infermesh/events/v1/RecordedTensor.js';
import type { RecordsConfig } from '../../../shared/model-config/index.js';
import type { TensorView } from '../execution/index.js';

/** Bins of a {@link TensorSummary} histogram (equal width over [min, max]). */
export const SUMMARY_BINS = 10;
/** The longest request id a record keeps, in characters (the client chooses it). */
export const MAX_RECORDED_REQUEST_ID_CHARS = 256;
/** The most bytes a record keeps of one BYTES element (the rest is cut). */
export const MAX_RECORDED_BYTES_ELEMENT = 1024;

/** What one served request leaves for its record (references only: nothing is copied on the hot path). */
export interface RecordSource {
  model: string;
  version: string;
  config: RecordsConfig;
  requestId: string;
  traceId: string;
  /** When the response was ready, ms since the epoch. */
  timeMs: number;
  latencyNs: number;
  inputs: Readonly<Record<string, ort.Tensor>>;
  outputs: Readonly<Record<string, TensorView>>;
}

/** Numeric values of a tensor as numbers (int64 as Number, FP16 decoded), or undefined for strings. */
function numbers(tensor: TensorView): ArrayLike<number> | undefined {
  const data = tensor.data as unknown;
  if (Array.isArray(data)) return undefined;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  if (tensor.type === 'float16' && data instanceof Uint16Array) return Array.from(data, fromFloat16Bits);
  if (data instanceof Uint8Array && tensor.type === 'bool') return data;
  return data as ArrayLike<number>;
}

function summarize(values: ArrayLike<number>): RecordedTensor['summary'] {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    count++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const histogram = new Array<number>(SUMMARY_BINS).fill(0);
  const width = (max - min) / SUMMARY_BINS;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    histogram[width > 0 ? Math.min(SUMMARY_BINS - 1, Math.floor((v - min) / width)) : 0]!++;
  }
  return { count, mean: count ? sum / count : 0, min: count ? min : 0, max: count ? max : 0, histogram: histogram.map(String) };
}

function tensorBytes(tensor: TensorView): Buffer {
  const data = tensor.data as unknown;
  if (Array.isArray(data)) return Buffer.from(JSON.stringify(data));
  const view = data as ArrayBufferView;
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** One BYTES element as at most {@link MAX_RECORDED_BYTES_ELEMENT} bytes. */
function boundedBytes(element: string): Buffer {
  // A UTF-8 character is at most 4 bytes: encode only what can fit.
  const bytes = Buffer.from(element.length > MAX_RECORDED_BYTES_ELEMENT ? element.slice(0, MAX_RECORDED_BYTES_ELEMENT) : element);
  return bytes.byteLength > MAX_RECORDED_BYTES_ELEMENT ? bytes.subarray(0, MAX_RECORDED_BYTES_ELEMENT) : bytes;
}

function recordTensor(name: string, tensor: TensorView, config: RecordsConfig): RecordedTensor | undefined {
  const datatype = datatypeFromOrt(tensor.type) ?? tensor.type;
  const base = { name, datatype, shape: tensor.dims.map((d) => String(d)) };
  const values = numbers(tensor);
  if (!values) {
    if (!config.recordBytes) return undefined;
    const strings = tensor.data as unknown as string[];
    if (strings.length > config.maxValuesPerTensor) return { ...base, treatment: 'TENSOR_TREATMENT_SUMMARY', summary: { count: String(strings.length) } };
    return { ...base, treatment: 'TENSOR_TREATMENT_VALUES', bytesValues: strings.map(boundedBytes) };
  }
  if (values.length > config.maxValuesPerTensor) return { ...base, treatment: 'TENSOR_TREATMENT_SUMMARY', summary: summarize(values) };
  return { ...base, treatment: 'TENSOR_TREATMENT_VALUES', values: Array.from(values) };
}

/**
 * Builds the record of one request, applying the model's redaction rules:
 * a `drop` input and (unless `recordBytes`) every BYTES tensor leave only its
 * name; a `hash` input leaves only HMAC-SHA256(hashKey, its bytes).
 */
export function buildPredictionRecord(source: RecordSource, nodeId: string, hashKey: Uint8Array): PredictionRecord {
  const inputs: RecordedTensor[] = [];
  const dropped: string[] = [];
  for (const [name, tensor] of Object.entries(source.inputs)) {
    const rule = source.config.redact[name];
    if (rule === 'drop') {
      dropped.push(name);
      continue;
    }
    if (rule === 'hash') {
      const hash = createHmac('sha256', hashKey).update(tensorBytes(tensor)).digest('hex');
      inputs.push({ name, datatype: datatypeFromOrt(tensor.type) ?? tensor.type, shape: tensor.dims.map((d) => String(d)), treatment: 'TENSOR_TREATMENT_HASHED', hash });
      continue;
    }
    const recorded = recordTensor(name, tensor, source.config);
    if (recorded) inputs.push(recorded);
    else dropped.push(name);
  }
  const outputs: RecordedTensor[] = [];
  for (const [name, tensor] of Object.entries(source.outputs)) {
    const recorded = recordTensor(name, tensor, source.config);
    if (recorded) outputs.push(recorded);
  }
  return {
    model: source.model,
    version: source.version,
    node: nodeId,
    requestId: source.requestId.length > MAX_RECORDED_REQUEST_ID_CHARS ? source.requestId.slice(0, MAX_RECORDED_REQUEST_ID_CHARS) : source.requestId,
    traceId: source.traceId,
    timeUnixNano: (BigInt(Math.floor(source.timeMs)) * 1_000_000n).toString(),
    latencyNano: source.latencyNs.toString(),
    inputs,
    outputs,
    droppedInputs: dropped,
    task: source.config.task === 'classification' ? 'MODEL_TASK_CLASSIFICATION' : source.config.task === 'regression' ? 'MODEL_TASK_REGRESSION' : 'MODEL_TASK_UNSPECIFIED',
  };
}
