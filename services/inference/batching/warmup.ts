import { Tensor } from 'onnxruntime-node';
import { invalidArgument } from '../../../shared/errors/index.js';
import { ORT_TYPE, isDatatype, type Datatype } from '../../../shared/onnx/index.js';

/** One warm-up input: KServe datatype, shape, and its elements in row-major order, or `'zeros'`. */
export interface WarmupInputSpec {
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: readonly unknown[] | 'zeros';
}

/** One warm-up request: inputs by name, run once on every instance before the executor is ready. */
export interface WarmupSampleSpec {
  readonly inputs: Readonly<Record<string, WarmupInputSpec>>;
}

const ZERO_ARRAYS: Readonly<Record<string, new (n: number) => Tensor['data']>> = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
  int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array,
};

/** A tensor of `shape` whose elements are all zero (empty strings for BYTES). */
export function zeroTensor(datatype: Datatype, shape: readonly number[]): Tensor {
  const type = ORT_TYPE[datatype];
  const count = shape.reduce((a, b) => a * b, 1);
  const data = type === 'string' ? new Array<string>(count).fill('') : new ZERO_ARRAYS[type]!(count);
  return new Tensor(type as 'float32', data as Float32Array, [...shape]);
}

/** Builds the ORT tensors of a warm-up sample; INVALID_ARGUMENT names the input and what was wrong. */
export function warmupTensors(sample: WarmupSampleSpec, index: number): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, spec] of Object.entries(sample.inputs)) {
    const where = `warmup[${index}].inputs.${name}`;
    if (!isDatatype(spec.datatype)) throw invalidArgument(`${where}: unknown datatype '${spec.datatype}'`);
    if (!Array.isArray(spec.shape) || spec.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw invalidArgument(`${where}: shape must be a list of non-negative integers, got ${JSON.stringify(spec.shape)}`);
    }
    const type = ORT_TYPE[spec.datatype];
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.data === 'zeros') {
      out[name] = zeroTensor(spec.datatype, spec.shape);
      continue;
    }
    if (!Array.isArray(spec.data) || spec.data.length !== count) {
      throw invalidArgument(`${where}: expected 'zeros' or ${count} element(s) for shape [${spec.shape.join(',')}], got ${Array.isArray(spec.data) ? spec.data.length : typeof spec.data}`);
    }
    const data = spec.datatype === 'BOOL' ? spec.data.map((v) => (v ? 1 : 0)) : spec.data;
    out[name] = new Tensor(type as 'float32', data as number[], [...spec.shape]);
  }
  return out;
}
