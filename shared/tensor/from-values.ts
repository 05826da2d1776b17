import { invalidArgument } from '../errors/index.js';
import type { Datatype } from '../onnx/index.js';
import { toFloat16Bits } from './float16.js';
import { TYPED_ARRAY, type TensorData } from './tensor-data.js';

/** Plain JS values for a tensor: numbers (bigint allowed for 64-bit), booleans for BOOL, strings for BYTES. */
export type TensorValues = readonly (number | bigint | boolean | string)[];

/**
 * Converts plain JS values to the {@link TensorData} of a datatype: FP16 numbers
 * become half-precision bits, booleans 0/1, numbers BigInts for 64-bit integers.
 * A typed array that already matches the datatype is returned as it is.
 */
export function tensorDataFromValues(datatype: Datatype, values: TensorValues | TensorData, label = 'tensor'): TensorData {
  if (datatype === 'BYTES') {
    if (!Array.isArray(values)) throw invalidArgument(`${label}: BYTES values must be an array of strings`);
    return (values as readonly unknown[]).map((v) => String(v));
  }
  const Ctor = TYPED_ARRAY[datatype];
  if (values instanceof Ctor) return values as TensorData;
  const list = values as readonly (number | bigint | boolean | string)[];
  if (datatype === 'INT64' || datatype === 'UINT64') {
    const out = new (Ctor as BigInt64ArrayConstructor)(list.length);
    for (let i = 0; i < list.length; i++) out[i] = BigInt(list[i] as number);
    return out;
  }
  if (datatype === 'FP16') return Uint16Array.from(list, (v) => toFloat16Bits(Number(v)));
  return (Ctor as Float32ArrayConstructor).from(list, (v) => Number(v));
}
