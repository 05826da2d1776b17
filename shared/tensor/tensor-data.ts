import { ELEMENT_SIZE, type Datatype } from '../onnx/index.js';

/**
 * The in-memory form of a tensor's elements, per KServe datatype: the typed array
 * onnxruntime uses for it, `Uint8Array` of 0/1 for BOOL, `Uint16Array` of IEEE
 * half-precision bit patterns for FP16, and `string[]` (UTF-8) for BYTES.
 */
export type TensorData =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | BigUint64Array | BigInt64Array | Float32Array | Float64Array | string[];

/** A fixed-size-element typed array constructor. */
export type TypedArrayConstructor =
  | Uint8ArrayConstructor | Int8ArrayConstructor | Uint16ArrayConstructor | Int16ArrayConstructor
  | Uint32ArrayConstructor | Int32ArrayConstructor | BigUint64ArrayConstructor | BigInt64ArrayConstructor
  | Float32ArrayConstructor | Float64ArrayConstructor;

/** The typed array that holds each fixed-size datatype (BYTES has none). */
export const TYPED_ARRAY: Readonly<Record<Exclude<Datatype, 'BYTES'>, TypedArrayConstructor>> = {
  BOOL: Uint8Array, UINT8: Uint8Array, UINT16: Uint16Array, UINT32: Uint32Array, UINT64: BigUint64Array,
  INT8: Int8Array, INT16: Int16Array, INT32: Int32Array, INT64: BigInt64Array,
  FP16: Uint16Array, FP32: Float32Array, FP64: Float64Array,
};

/** Number of elements a shape holds (1 for a scalar shape `[]`). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes per element of a fixed-size datatype; throws for BYTES. */
export function elementSize(datatype: Exclude<Datatype, 'BYTES'>): number {
  return ELEMENT_SIZE[datatype]!;
}
