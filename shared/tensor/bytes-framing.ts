import { invalidArgument } from '../errors/index.js';

/**
 * The raw form of a BYTES tensor: each element is a 4-byte little-endian length
 * followed by that many bytes. Strings are written as UTF-8.
 * Allocates one buffer for the whole tensor.
 */
export function encodeBytesElements(elements: readonly (string | Uint8Array)[]): Buffer {
  const parts = elements.map((e) => (typeof e === 'string' ? Buffer.from(e, 'utf8') : e));
  let total = 0;
  for (const p of parts) total += 4 + p.byteLength;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.byteLength, at);
    out.set(p, at + 4);
    at += 4 + p.byteLength;
  }
  return out;
}

/**
 * Counts the elements of raw BYTES framing by walking the length prefixes,
 * without allocating anything. Throws INVALID_ARGUMENT naming `label` when a
 * frame is truncated. Call it (or pass `expectedCount` to
 * {@link decodeBytesElements}) before sizing anything from the count.
 */
export function countBytesElements(bytes: Uint8Array, label = 'BYTES tensor'): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = bytes.byteLength;
  let n = 0;
  let at = 0;
  while (at < size) {
    if (at + 4 > size) {
      throw invalidArgument(`${label}: truncated BYTES element ${n}: ${size - at} byte(s) left where a 4-byte length was expected`);
    }
    const len = view.getUint32(at, true);
    if (len > size - at - 4) {
      throw invalidArgument(`${label}: truncated BYTES element ${n}: its length says ${len} byte(s) but ${size - at - 4} remain`);
    }
    at += 4 + len;
    n++;
  }
  return n;
}

/**
 * Splits raw BYTES framing into its elements, as views over `bytes` (no copy).
 * Throws INVALID_ARGUMENT naming `label` when a frame is truncated, or when
 * `expectedCount` is given and the framing holds another number of elements:
 * that is checked by walking the frames first, before one view is made.
 */
export function decodeBytesElements(bytes: Uint8Array, label = 'BYTES tensor', expectedCount?: number): Buffer[] {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = countBytesElements(buf, label);
  if (expectedCount !== undefined && count !== expectedCount) {
    throw invalidArgument(`${label}: needs ${expectedCount} BYTES element(s), the raw framing holds ${count}`);
  }
  const out = new Array<Buffer>(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const len = buf.readUInt32LE(at);
    out[i] = buf.subarray(at + 4, at + 4 + len);
    at += 4 + len;
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes BYTES elements as UTF-8 strings. Throws INVALID_ARGUMENT naming
 * `label` and the element for bytes that are not valid UTF-8 (never replaces them).
 */
export function decodeUtf8Elements(elements: readonly Uint8Array[], label = 'BYTES tensor'): string[] {
  return elements.map((e, i) => {
    try {
      return utf8.decode(e);
    } catch {
      throw invalidArgument(`${label}: BYTES element ${i} is not valid UTF-8 (string tensors hold text; send binary data base64-encoded)`);
    }
  });
}
