import { Tensor } from 'onnxruntime-node';
import { InfermeshError, Code, invalidArgument } from '../../../shared/errors/index.js';

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
  for (const [name, t] of Object.entries(inputs)) {
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

/**
 * The key under which requests may share a batch: every input's name, type and
 * non-batch dimensions. Requests whose keys differ are batched separately.
 */
export function shapeKey(inputs: Readonly<Record<string, Tensor>>): string {
  // Per request: no sort for the usual single input, no array for the dims.
  const names = Object.keys(inputs);
  if (names.length > 1) names.sort();
  let key = '';
  for (const name of names) {
    const t = inputs[name]!;
    const dims = t.dims;
    key += `${name}:${t.type}:`;
    for (let i = 1; i < dims.length; i++) key += i > 1 ? `x${dims[i]}` : `${dims[i]}`;
    key += ';';
  }
  return key;
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
 * [offset_i, offset_i + rows[i]) of each output it asked for, as subarray views
 * over the batch's output buffers (no copy; BYTES outputs are sliced arrays).
 */
export function sliceOutputs(
  outputs: Readonly<Record<string, Tensor>>,
  rows: readonly number[],
  wanted: readonly (readonly string[])[],
): Record<string, Tensor>[] {
  const totalRows = rows.reduce((a, b) => a + b, 0);
  const result: Record<string, Tensor>[] = rows.map(() => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    if (t.dims[0] !== totalRows) {
      throw new InfermeshError(
        Code.FAILED_PRECONDITION,
        `output '${name}' has first dimension ${t.dims[0] ?? 'none'} for a batch of ${totalRows} rows; a model with maxBatchSize > 0 must keep the batch dimension first in every output`,
      );
    }
    const rowElems = rowElements(t.dims);
    const tail = t.dims.slice(1);
    let row = 0;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (wanted[i]!.includes(name)) {
        const begin = row * rowElems;
        const end = (row + r) * rowElems;
        const data = t.type === 'string' ? (t.data as string[]).slice(begin, end) : (t.data as Float32Array).subarray(begin, end);
        result[i]![name] = new Tensor(t.type as 'float32', data as Float32Array, [r, ...tail]);
      }
      row += r;
    }
  }
  return result;
}

/** Picks the outputs a request asked for (a lone request keeps the run's tensors as they are). */
export function pickOutputs(outputs: Readonly<Record<string, Tensor>>, names: readonly string[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const n of names) if (outputs[n]) out[n] = outputs[n]!;
  return out;
}

function rowElements(dims: readonly number[]): number {
  let n = 1;
  for (let i = 1; i < dims.length; i++) n *= dims[i]!;
  return n;
}
