import type { InferParameter } from '../../../shared/generated/inference/InferParameter.js';
import type { InferTensorContents } from '../../../shared/generated/inference/InferTensorContents.js';
import type { ModelInferResponse, _inference_ModelInferResponse_InferOutputTensor as OutputTensor } from '../../../shared/generated/inference/ModelInferResponse.js';
import type { ModelStreamInferResponse } from '../../../shared/generated/inference/ModelStreamInferResponse.js';
import { ProtoWriter, delimitedSize, int32Size, toUint64, varint32Size, varint64Size } from './proto-writer.js';

/*
 * ModelInferResponse and ModelStreamInferResponse encoded into one buffer, byte
 * for byte what protobufjs (proto-loader's serializer) writes for the same
 * object: fields in number order, a field written whenever it is present (even
 * empty, as protobufjs's fromObject + encode do), packed repeated scalars, map
 * entries in key order with key and value always written.
 *
 * The sizing pass pushes every nested length and string length onto `lengths`
 * in the order the writing pass consumes them.
 */

type Lengths = number[];

/** Encodes a ModelInferResponse (the ModelInfer response serializer). */
export function encodeModelInferResponse(message: ModelInferResponse): Buffer {
  const lengths: Lengths = [];
  const size = sizeResponse(message, lengths);
  const w = new ProtoWriter(size, lengths);
  writeResponse(w, message);
  return w.buf;
}

/** The bytes of gRPC's message frame header: the compressed flag and the 4-byte big-endian length. */
export const GRPC_FRAME_HEADER_BYTES = 5;

/** Encodes a ModelInferResponse as one uncompressed gRPC message frame (header and message in one buffer). */
export function encodeModelInferResponseFrame(message: ModelInferResponse): Buffer {
  const lengths: Lengths = [];
  const size = sizeResponse(message, lengths);
  const w = new ProtoWriter(size, lengths, GRPC_FRAME_HEADER_BYTES);
  writeResponse(w, message);
  w.buf[0] = 0;
  w.buf.writeUInt32BE(size, 1);
  return w.buf;
}

/** Encodes a ModelStreamInferResponse (the ModelStreamInfer response serializer). */
export function encodeModelStreamInferResponse(message: ModelStreamInferResponse): Buffer {
  return encodeStreamResponse(message, 0);
}

/** Encodes a ModelStreamInferResponse as one uncompressed gRPC message frame. */
export function encodeModelStreamInferResponseFrame(message: ModelStreamInferResponse): Buffer {
  const buf = encodeStreamResponse(message, GRPC_FRAME_HEADER_BYTES);
  buf[0] = 0;
  buf.writeUInt32BE(buf.byteLength - GRPC_FRAME_HEADER_BYTES, 1);
  return buf;
}

function encodeStreamResponse(message: ModelStreamInferResponse, headroom: number): Buffer {
  const lengths: Lengths = [];
  let size = sizeString(message.errorMessage, lengths);
  const inner = message.inferResponse;
  if (inner != null) {
    const at = reserve(lengths);
    const n = sizeResponse(inner, lengths);
    lengths[at] = n;
    size += 1 + delimitedSize(n);
  }
  const w = new ProtoWriter(size, lengths, headroom);
  if (message.errorMessage != null) {
    w.uint32(10);
    w.string(String(message.errorMessage));
  }
  if (inner != null) {
    w.uint32(18);
    w.fork();
    writeResponse(w, inner);
  }
  return w.buf;
}

function reserve(lengths: Lengths): number {
  lengths.push(0);
  return lengths.length - 1;
}

/** A string field with a one-byte tag: its size with tag and prefix, 0 when absent. */
function sizeString(v: unknown, lengths: Lengths): number {
  if (v == null) return 0;
  const len = utf8Length(String(v));
  lengths.push(len);
  return 1 + delimitedSize(len);
}

/** Longest string measured and written here char by char (names, versions, ids, trace ids); longer ones go to Buffer. */
const SHORT_STRING = 64;

/** A string's UTF-8 length: short ASCII strings (nearly every one here) counted here, the rest by Buffer.byteLength. */
function utf8Length(s: string): number {
  if (s.length > SHORT_STRING) return Buffer.byteLength(s, 'utf8');
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

function sizeResponse(m: ModelInferResponse, lengths: Lengths): number {
  let n = sizeString(m.modelName, lengths) + sizeString(m.modelVersion, lengths) + sizeString(m.id, lengths);
  if (m.parameters) n += sizeParameters(m.parameters, lengths);
  if (m.outputs) {
    for (const t of m.outputs) {
      const at = reserve(lengths);
      const len = sizeOutputTensor(t, lengths);
      lengths[at] = len;
      n += 1 + delimitedSize(len);
    }
  }
  if (m.rawOutputContents) for (const b of m.rawOutputContents) n += 1 + delimitedSize(toBytes(b).byteLength);
  return n;
}

function writeResponse(w: ProtoWriter, m: ModelInferResponse): void {
  if (m.modelName != null) {
    w.uint32(10);
    w.string(String(m.modelName));
  }
  if (m.modelVersion != null) {
    w.uint32(18);
    w.string(String(m.modelVersion));
  }
  if (m.id != null) {
    w.uint32(26);
    w.string(String(m.id));
  }
  if (m.parameters) writeParameters(w, m.parameters, 34);
  if (m.outputs) {
    for (const t of m.outputs) {
      w.uint32(42);
      w.fork();
      writeOutputTensor(w, t);
    }
  }
  if (m.rawOutputContents) {
    for (const b of m.rawOutputContents) {
      w.uint32(50);
      w.bytes(toBytes(b));
    }
  }
}

/** A bytes field as protobufjs's fromObject takes it: a string is base64. */
function toBytes(b: Buffer | Uint8Array | string): Uint8Array {
  return typeof b === 'string' ? Buffer.from(b, 'base64') : b;
}

/** Every entry of a map<string, InferParameter> with a one-byte tag. */
function sizeParameters(map: Record<string, InferParameter>, lengths: Lengths): number {
  let n = 0;
  for (const key of Object.keys(map)) {
    const entryAt = reserve(lengths);
    const keySize = sizeString(key, lengths);
    const valueAt = reserve(lengths);
    const valueLen = sizeParameter(map[key]!, lengths);
    lengths[valueAt] = valueLen;
    const entryLen = keySize + 1 + delimitedSize(valueLen);
    lengths[entryAt] = entryLen;
    n += 1 + delimitedSize(entryLen);
  }
  return n;
}

function writeParameters(w: ProtoWriter, map: Record<string, InferParameter>, tag: number): void {
  for (const key of Object.keys(map)) {
    w.uint32(tag);
    w.fork();
    w.uint32(10);
    w.string(key);
    w.uint32(18);
    w.fork();
    writeParameter(w, map[key]!);
  }
}

function sizeParameter(p: InferParameter, lengths: Lengths): number {
  let n = 0;
  if (p.boolParam != null) n += 2;
  if (p.int64Param != null) n += 1 + varint64Size(toUint64(p.int64Param));
  n += sizeString(p.stringParam, lengths);
  if (p.doubleParam != null) n += 9;
  if (p.uint64Param != null) n += 1 + varint64Size(toUint64(p.uint64Param));
  return n;
}

function writeParameter(w: ProtoWriter, p: InferParameter): void {
  if (p.boolParam != null) {
    w.uint32(8);
    w.uint32(p.boolParam ? 1 : 0);
  }
  if (p.int64Param != null) {
    w.uint32(16);
    w.uint64(toUint64(p.int64Param));
  }
  if (p.stringParam != null) {
    w.uint32(26);
    w.string(String(p.stringParam));
  }
  if (p.doubleParam != null) {
    w.uint32(33);
    w.double(Number(p.doubleParam));
  }
  if (p.uint64Param != null) {
    w.uint32(40);
    w.uint64(toUint64(p.uint64Param));
  }
}

function sizeOutputTensor(t: OutputTensor, lengths: Lengths): number {
  let n = sizeString(t.name, lengths) + sizeString(t.datatype, lengths);
  if (t.shape && t.shape.length > 0) {
    let len = 0;
    for (const d of t.shape) len += varint64Size(toUint64(d));
    lengths.push(len);
    n += 1 + delimitedSize(len);
  }
  if (t.parameters) n += sizeParameters(t.parameters, lengths);
  if (t.contents != null) {
    const at = reserve(lengths);
    const len = sizeContents(t.contents, lengths);
    lengths[at] = len;
    n += 1 + delimitedSize(len);
  }
  return n;
}

function writeOutputTensor(w: ProtoWriter, t: OutputTensor): void {
  if (t.name != null) {
    w.uint32(10);
    w.string(String(t.name));
  }
  if (t.datatype != null) {
    w.uint32(18);
    w.string(String(t.datatype));
  }
  if (t.shape && t.shape.length > 0) {
    w.uint32(26);
    w.fork();
    for (const d of t.shape) w.uint64(toUint64(d));
  }
  if (t.parameters) writeParameters(w, t.parameters, 34);
  if (t.contents != null) {
    w.uint32(42);
    w.fork();
    writeContents(w, t.contents);
  }
}

/** The packed scalar fields of InferTensorContents, by field number, with how one value is sized and written. */
const PACKED: ReadonlyArray<{ field: number; key: keyof InferTensorContents; size: (v: unknown) => number; write: (w: ProtoWriter, v: unknown) => void }> = [
  { field: 1, key: 'boolContents', size: () => 1, write: (w, v) => w.uint32(v ? 1 : 0) },
  { field: 2, key: 'intContents', size: (v) => int32Size(Number(v) | 0), write: (w, v) => writeInt32(w, Number(v) | 0) },
  { field: 3, key: 'int64Contents', size: (v) => varint64Size(toUint64(v)), write: (w, v) => w.uint64(toUint64(v)) },
  { field: 4, key: 'uintContents', size: (v) => varint32Size(Number(v) >>> 0), write: (w, v) => w.uint32(Number(v) >>> 0) },
  { field: 5, key: 'uint64Contents', size: (v) => varint64Size(toUint64(v)), write: (w, v) => w.uint64(toUint64(v)) },
  { field: 6, key: 'fp32Contents', size: () => 4, write: (w, v) => w.float(Number(v)) },
  { field: 7, key: 'fp64Contents', size: () => 8, write: (w, v) => w.double(Number(v)) },
];

function writeInt32(w: ProtoWriter, v: number): void {
  if (v >= 0) w.uint32(v);
  else w.uint64(BigInt.asUintN(64, BigInt(v)));
}

function sizeContents(c: InferTensorContents, lengths: Lengths): number {
  let n = 0;
  for (const f of PACKED) {
    const values = c[f.key] as readonly unknown[] | undefined;
    if (!values || values.length === 0) continue;
    let len = 0;
    for (const v of values) len += f.size(v);
    lengths.push(len);
    n += 1 + delimitedSize(len);
  }
  for (const b of c.bytesContents ?? []) n += 1 + delimitedSize(toBytes(b).byteLength);
  return n;
}

function writeContents(w: ProtoWriter, c: InferTensorContents): void {
  for (const f of PACKED) {
    const values = c[f.key] as readonly unknown[] | undefined;
    if (!values || values.length === 0) continue;
    w.uint32((f.field << 3) | 2);
    w.fork();
    for (const v of values) f.write(w, v);
  }
  for (const b of c.bytesContents ?? []) {
    w.uint32(66);
    w.bytes(toBytes(b));
  }
}
