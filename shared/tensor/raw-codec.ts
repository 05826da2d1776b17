import { invalidArgument } from '../errors/index.js';
import type { Datatype } from '../onnx/index.js';
import { decodeBytesElements, decodeUtf8Elements, encodeBytesElements } from './bytes-framing.js';
import { TYPED_ARRAY, elementSize, type TensorData } from './tensor-data.js';

/**
 * Decodes one tensor's raw bytes (`raw_input_contents` / `raw_output_contents`,
 * little-endian) into its {@link TensorData}. Fixed-size datatypes come back as a
 * typed-array VIEW over `bytes` when its byte offset is aligned for the element
 * size, and as a copy only when it is not. BYTES come back as strings (elements must be valid UTF-8).
 * Throws INVALID_ARGUMENT naming `label` when the length does not fit the
 * datatype, or (given `expectedCount`, e.g. from the shape) holds another
 * number of elements; that is checked before anything is allocated.
 */
export function decodeRawTensor(datatype: Datatype, bytes: Uint8Array, label = 'tensor', expectedCount?: number): TensorData {
  if (datatype === 'BYTES') return decodeUtf8Elements(decodeBytesElements(bytes, label, expectedCount), label);
  const size = elementSize(datatype);
  if (bytes.byteLength % size !== 0) {
    throw invalidArgument(`${label}: ${bytes.byteLength} raw byte(s) is not a whole number of ${datatype} elements (${size} bytes each)`);
  }
  const Ctor = TYPED_ARRAY[datatype];
  const count = bytes.byteLength / size;
  if (expectedCount !== undefined && count !== expectedCount) {
    throw invalidArgument(`${label}: needs ${expectedCount} element(s) (${expectedCount * size} bytes), got ${bytes.byteLength} raw byte(s)`);
  }
  if (bytes.byteOffset % size === 0) return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
  // A typed array cannot start at a misaligned offset: copy into aligned memory. Buffer.allocUnsafe
  // hands small sizes out of Node's shared pool at offsets that are multiples of 8, so a small
  // tensor (most requests) costs no ArrayBuffer of its own; larger ones get their own memory.
  const copy = Buffer.allocUnsafe(bytes.byteLength);
  copy.set(bytes);
  return new Ctor(copy.buffer, copy.byteOffset, count);
}

/**
 * Encodes tensor data as raw bytes. Typed arrays come back as a Buffer VIEW over
 * the same memory (no copy); BYTES (`string[]` or `Uint8Array[]`) are framed.
 */
export function encodeRawTensor(data: TensorData | readonly Uint8Array[]): Buffer {
  if (Array.isArray(data)) return encodeBytesElements(data);
  const typed = data as Exclude<TensorData, string[]>;
  return Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
}
