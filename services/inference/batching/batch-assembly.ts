import { Tensor } from 'onnxruntime-node';
import { InfermeshError, Code, invalidArgument } from '../../../shared/errors/index.js';
import type { TensorView } from '../execution/executor.js';

/** Tensor data that onnxruntime carries: a typed array, or strings for BYTES. */
type AnyData = Tensor['data'];
type TypedArray = Exclude<AnyData, string[]>;
type TypedArrayCtor = new (length: number) => TypedArray;

/**
 * The batch rows of one request: the first dimension shared by all its inputs.
 * Throws INVALID_ARGUMENT naming the input when the inputs disagree, or when an
 * input is a scalar (a batched model needs a batch dimension on every input).
 */
export function batchRows(inputs: Readonly<Record<string, Tensor>>): number {
  let rows: number | undefined;
  let first = '';
  for (const name in inputs) {
    const t = inputs[name]!;
    if (t.dims.length === 0) throw invalidArgument(`input '${name}': the model batches, so the tensor needs a batch dimension; got a scalar`);
    const r = t.dims[0]!;
    if (rows === undefined) {
      rows = r;
      first = name;
    } else if (r !== rows) {
      throw invalidArgument(`input '${name}': batch dimension ${r} differs from input '${first}' (${rows}); every input must have the same first dimension`);
    }
  }
  if (rows === undefined) throw invalidArgument('the request has no inputs');
  return rows;
}

/** The last single-input key made, to hand back without building it again (requests to one model nearly always share it). */
let lastKey: { name: string; type: string; dims: readonly number[]; key: string } | undefined;

/**
 * The key under which requests may share a batch: every input's name, type and
 * non-batch dimensions. Requests whose keys differ are batched separately.
 */
export function shapeKey(inputs: Readonly<Record<string, Tensor>>): string {
  // Per request: no sort for the usual single input, no array for the dims, no new string when it is the last one's.
  const names = Object.keys(inputs);
  if (names.length === 1) {
    const name = names[0]!;
    const t = inputs[name]!;
    const last = lastKey;
    if (last && last.name === name && last.type === t.type && sameTail(last.dims, t.dims)) return last.key;
    const key = inputKey(name, t);
    lastKey = { name, type: t.type, dims: t.dims.slice(), key };
    return key;
  }
  names.sort();
  let key = '';
  for (const name of names) key += inputKey(name, inputs[name]!);
  return key;
}

function inputKey(name: string, t: Tensor): string {
  const dims = t.dims;
  let key = `${name}:${t.type}:`;
  for (let i = 1; i < dims.length; i++) key += i > 1 ? `x${dims[i]}` : `${dims[i]}`;
  return key + ';';
}

/** Whether two shapes agree past the batch dimension. */
function sameTail(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 1; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Concatenates the requests' inputs along the first dimension: one new tensor
 * (one allocation) per input. The requests must share a {@link shapeKey}.
 */
export function concatInputs(parts: readonly Readonly<Record<string, Tensor>>[], totalRows: number): Record<string, Tensor> {
  const first = parts[0]!;
  const out: Record<string, Tensor> = {};
  for (const [name, proto] of Object.entries(first)) {
    const dims = [totalRows, ...proto.dims.slice(1)];
    if (proto.type === 'string') {
      const data: string[] = [];
      for (const p of parts) for (const s of p[name]!.data as string[]) data.push(s);
      out[name] = new Tensor('string', data, dims);
      continue;
    }
    const src0 = proto.data as TypedArray;
    const rowElems = rowElements(proto.dims);
    const data = new (src0.constructor as TypedArrayCtor)(totalRows * rowElems);
    let at = 0;
    for (const p of parts) {
      const src = p[name]!.data as TypedArray;
      // set() between typed arrays of one type is a memcpy.
      (data as Float32Array).set(src as Float32Array, at);
      at += src.length;
    }
    out[name] = new Tensor(proto.type as 'float32', data as Float32Array, dims);
  }
  return out;
}

/**
 * Splits a batch's outputs back to its requests: request i gets rows
 * [offset_i, offset_i + rows[i]) of each output it asked for (`wanted(i)`), as
 * subarray views over the batch's output buffers (no copy; BYTES outputs are
 * sliced arrays). Per request this makes the view and one small object: the
 * requests with the same row count share one dims array.
 */
export function sliceOutputs(
  outputs: Readonly<Record<string, Tensor>>,
  rows: readonly { readonly rows: number }[],
  wanted: (i: number) => readonly string[],
): Record<string, TensorView>[] {
  let totalRows = 0;
  for (let i = 0; i < rows.length; i++) totalRows += rows[i]!.rows;
  const result = new Array<Record<string, TensorView>>(rows.length);
  for (let i = 0; i < rows.length; i++) result[i] = {};
  for (const name of Object.keys(outputs)) {
    const t = outputs[name]!;
    if (t.dims[0] !== totalRows) {
      throw new InfermeshError(
        Code.FAILED_PRECONDITION,
        `output '${name}' has first dimension ${t.dims[0] ?? 'none'} for a batch of ${totalRows} rows; a model with maxBatchSize > 0 must keep the batch dimension first in every output`,
      );
    }
    const rowElems = rowElements(t.dims);
    const strings = t.type === 'string';
    // Nearly every request of a batch has one row: its dims are made once.
    let lastRows = -1;
    let lastDims: readonly number[] = t.dims;
    let row = 0;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!.rows;
      if (wanted(i).includes(name)) {
        const begin = row * rowElems;
        const end = (row + r) * rowElems;
        if (r !== lastRows) {
          const dims = t.dims.slice();
          dims[0] = r;
          lastDims = dims;
          lastRows = r;
        }
        const data = strings ? (t.data as string[]).slice(begin, end) : (t.data as Float32Array).subarray(begin, end);
        result[i]![name] = { type: t.type, dims: lastDims, data };
      }
      row += r;
    }
  }
  return result;
}

/** Picks the outputs a request asked for (a lone request keeps the run's tensors as they are). */
export function pickOutputs(outputs: Readonly<Record<string, Tensor>>, names: readonly string[]): Record<string, TensorView> {
  const out: Record<string, TensorView> = {};
  for (const n of names) if (outputs[n]) out[n] = outputs[n]!;
  return out;
}

function rowElements(dims: readonly number[]): number {
  let n = 1;
  for (let i = 1; i < dims.length; i++) n *= dims[i]!;
  return n;
}
