import { invalidArgument } from '../errors/index.js';
import type { Datatype } from '../onnx/index.js';
import type { InferTensorContents, InferTensorContents__Output } from '../generated/inference/InferTensorContents.js';
import { decodeUtf8Elements } from './bytes-framing.js';
import { TYPED_ARRAY, type TensorData } from './tensor-data.js';

type ContentsField = keyof InferTensorContents__Output;

/** The typed `contents` field that carries each datatype (FP16 has none: it travels raw only). */
export const CONTENTS_FIELD: Readonly<Record<Datatype, ContentsField | undefined>> = {
  BOOL: 'boolContents',
  INT8: 'intContents', INT16: 'intContents', INT32: 'intContents',
  UINT8: 'uintContents', UINT16: 'uintContents', UINT32: 'uintContents',
  INT64: 'int64Contents', UINT64: 'uint64Contents',
  FP16: undefined, FP32: 'fp32Contents', FP64: 'fp64Contents', BYTES: 'bytesContents',
};

const SNAKE: Record<ContentsField, string> = {
  boolContents: 'bool_contents', intContents: 'int_contents', int64Contents: 'int64_contents', uintContents: 'uint_contents',
  uint64Contents: 'uint64_contents', fp32Contents: 'fp32_contents', fp64Contents: 'fp64_contents', bytesContents: 'bytes_contents',
};

const RANGE: Partial<Record<Datatype, [number, number]>> = {
  INT8: [-128, 127], INT16: [-32768, 32767], INT32: [-(2 ** 31), 2 ** 31 - 1],
  UINT8: [0, 255], UINT16: [0, 65535], UINT32: [0, 2 ** 32 - 1],
};

/** Element count of whatever typed contents a tensor carries (the non-empty field). */
export function contentsLength(contents: InferTensorContents__Output | null | undefined): number {
  if (!contents) return 0;
  let n = 0;
  for (const field of Object.keys(SNAKE) as ContentsField[]) n = Math.max(n, (contents[field] as unknown[] | undefined)?.length ?? 0);
  return n;
}

/**
 * Decodes a tensor's typed `contents` (as grpc-js hands it out with the
 * project's loader options: 64-bit integers as strings) into {@link TensorData}.
 * Throws INVALID_ARGUMENT naming `label` when the datatype's field is not the one
 * used, a value is out of the datatype's range, or the datatype is FP16.
 */
export function decodeTensorContents(datatype: Datatype, contents: InferTensorContents__Output, label = 'tensor'): TensorData {
  const field = CONTENTS_FIELD[datatype];
  if (!field) throw invalidArgument(`${label}: ${datatype} has no typed contents field; send it in raw_input_contents`);
  for (const other of Object.keys(SNAKE) as ContentsField[]) {
    if (other !== field && ((contents[other] as unknown[] | undefined)?.length ?? 0) > 0) {
      throw invalidArgument(`${label}: ${datatype} data belongs in ${SNAKE[field]}, but ${SNAKE[other]} was set`);
    }
  }
  const values = (contents[field] ?? []) as readonly unknown[];
  switch (datatype) {
    case 'BYTES':
      return decodeUtf8Elements(values as readonly Uint8Array[], label);
    case 'BOOL':
      return Uint8Array.from(values as readonly boolean[], (v) => (v ? 1 : 0));
    case 'INT64':
    case 'UINT64': {
      const Ctor = TYPED_ARRAY[datatype] as BigInt64ArrayConstructor | BigUint64ArrayConstructor;
      const out = new Ctor(values.length);
      const [lo, hi] = datatype === 'INT64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      for (let i = 0; i < values.length; i++) {
        const v = BigInt(String(values[i]));
        if (v < lo || v > hi) throw invalidArgument(`${label}: element ${i} (${v}) is out of range for ${datatype}`);
        out[i] = v;
      }
      return out;
    }
    default: {
      const Ctor = TYPED_ARRAY[datatype] as Float32ArrayConstructor;
      const range = RANGE[datatype];
      const nums = values as readonly number[];
      if (range) {
        for (let i = 0; i < nums.length; i++) {
          const v = nums[i]!;
          if (v < range[0] || v > range[1]) throw invalidArgument(`${label}: element ${i} (${v}) is out of range for ${datatype}`);
        }
      }
      return Ctor.from(nums);
    }
  }
}

/**
 * Encodes tensor data as typed `contents` (the request form; responses always
 * use raw). Throws INVALID_ARGUMENT for FP16, which only travels raw.
 */
export function encodeTensorContents(datatype: Datatype, data: TensorData | readonly Uint8Array[], label = 'tensor'): InferTensorContents {
  const field = CONTENTS_FIELD[datatype];
  if (!field) throw invalidArgument(`${label}: ${datatype} has no typed contents field; send it raw`);
  let values: unknown[];
  if (datatype === 'BYTES') {
    values = (data as readonly (string | Uint8Array)[]).map((e) => (typeof e === 'string' ? Buffer.from(e, 'utf8') : e));
  } else if (datatype === 'BOOL') {
    values = Array.from(data as Uint8Array, (v) => v !== 0);
  } else if (datatype === 'INT64' || datatype === 'UINT64') {
    values = Array.from(data as BigInt64Array, (v) => v.toString());
  } else {
    values = Array.from(data as Float32Array);
  }
  return { [field]: values };
}
