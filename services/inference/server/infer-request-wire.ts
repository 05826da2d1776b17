import { Code, InfermeshError, invalidArgument } from '../../../shared/errors/index.js';
import type { InferParameter__Output } from '../../../shared/generated/inference/InferParameter.js';
import type { InferTensorContents__Output } from '../../../shared/generated/inference/InferTensorContents.js';
import type {
  ModelInferRequest__Output,
  _inference_ModelInferRequest_InferInputTensor__Output as InputTensor,
  _inference_ModelInferRequest_InferRequestedOutputTensor__Output as OutputTensor,
} from '../../../shared/generated/inference/ModelInferRequest.js';
import { countBytesElements } from '../../../shared/tensor/index.js';
import {
  ProtoReader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LENGTH, WIRE_VARINT, countPackedVarints, int64String, uint64String,
} from './proto-reader.js';
import { DEFAULT_INFER_REQUEST_LIMITS, type InferRequestLimits } from './request-limits.js';

/** The size of the message a request was decoded from, in bytes (set by the wire decoder; see {@link requestWireBytes}). */
export const WIRE_BYTES: unique symbol = Symbol('infermesh.wireBytes');

/** A decoded request, with the size of its message. */
export type WireInferRequest = ModelInferRequest__Output & { [WIRE_BYTES]?: number };

/**
 * What the wire decoder hands the handler in place of a request it could not
 * decode: grpc-js is never made to throw (it would end a stream with INTERNAL),
 * the handler answers with `error` (INVALID_ARGUMENT) instead. `id` and
 * `modelName` are what was read before the fault, so a stream client can match
 * the answer.
 */
export class InferDecodeFailure {
  constructor(
    readonly error: InfermeshError,
    readonly id: string,
    readonly modelName: string,
    readonly modelVersion: string,
  ) {}
}

/** The bytes a request holds: its message size when it came off the wire, else its raw contents. */
export function requestWireBytes(request: ModelInferRequest__Output): number {
  const wire = (request as WireInferRequest)[WIRE_BYTES];
  if (wire !== undefined) return wire;
  let n = 0;
  for (const raw of request.rawInputContents ?? []) n += raw.byteLength;
  return n;
}

const WHAT = 'ModelInferRequest';

/** The typed contents field numbers, by the datatype that uses them. */
const CONTENTS_FIELD_NUMBER: Readonly<Record<string, number>> = {
  BOOL: 1, INT8: 2, INT16: 2, INT32: 2, INT64: 3, UINT8: 4, UINT16: 4, UINT32: 4, UINT64: 5, FP32: 6, FP64: 7, BYTES: 8,
};
const CONTENTS_NAMES = ['', 'bool_contents', 'int_contents', 'int64_contents', 'uint_contents', 'uint64_contents', 'fp32_contents', 'fp64_contents', 'bytes_contents'];

/**
 * Decodes a ModelInferRequest straight from the received buffer into the
 * object proto-loader would give (same fields and defaults, 64-bit integers as
 * strings), with `rawInputContents` and BYTES contents as views over `buf`.
 * Counts and sizes are checked against `limits` and against each tensor's own
 * shape before any array is allocated. Never throws: a message that cannot be
 * decoded comes back as an {@link InferDecodeFailure}. With `ownsBuffer` (the
 * caller hands `buf` over, as grpc-js does), misaligned raw tensors are moved
 * within `buf` to aligned offsets ({@link alignRawContents}), so `buf` changes.
 */
export function decodeModelInferRequest(
  buf: Buffer,
  limits: InferRequestLimits = DEFAULT_INFER_REQUEST_LIMITS,
  options: { readonly ownsBuffer?: boolean } = {},
): WireInferRequest | InferDecodeFailure {
  const request: WireInferRequest = { modelName: '', modelVersion: '', id: '', parameters: {}, inputs: [], outputs: [], rawInputContents: [] };
  // Not enumerable: the request keeps proto-loader's shape for spreads, equality and logging.
  Object.defineProperty(request, WIRE_BYTES, { value: buf.byteLength });
  const r = new ProtoReader(buf, 0, buf.byteLength, WHAT);
  try {
    decodeTop(r, request, limits);
    if (options.ownsBuffer) alignRawContents(buf, request);
    return request;
  } catch (err) {
    const error = err instanceof InfermeshError ? err : new InfermeshError(Code.INVALID_ARGUMENT, `malformed ${WHAT}: ${(err as Error).message}`, { cause: err });
    return new InferDecodeFailure(error, request.id, request.modelName, request.modelVersion);
  }
}

interface Budget {
  contents: number;
  bytes: number;
}

function decodeTop(r: ProtoReader, request: WireInferRequest, limits: InferRequestLimits): void {
  const budget: Budget = { contents: 0, bytes: 0 };
  while (r.pos < r.end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case 1:
        request.modelName = r.stringField(wire, 'model_name');
        break;
      case 2:
        request.modelVersion = r.stringField(wire, 'model_version');
        break;
      case 3:
        request.id = r.stringField(wire, 'id');
        break;
      case 4:
        r.expect(wire, WIRE_LENGTH, 'parameters');
        decodeParameterEntry(r, request.parameters, limits, 'parameters');
        break;
      case 5:
        r.expect(wire, WIRE_LENGTH, 'inputs');
        if (request.inputs.length >= limits.maxTensors) throw invalidArgument(`the request has more than ${limits.maxTensors} inputs, the most a request may hold`);
        request.inputs.push(decodeInputTensor(r, r.delimitedEnd(), limits, budget));
        break;
      case 6:
        r.expect(wire, WIRE_LENGTH, 'outputs');
        if (request.outputs.length >= limits.maxTensors) throw invalidArgument(`the request names more than ${limits.maxTensors} outputs, the most a request may hold`);
        request.outputs.push(decodeOutputTensor(r, r.delimitedEnd(), limits));
        break;
      case 7:
        r.expect(wire, WIRE_LENGTH, 'raw_input_contents');
        if (request.rawInputContents.length >= limits.maxTensors) throw invalidArgument(`raw_input_contents has more than ${limits.maxTensors} entries, the most a request may hold`);
        request.rawInputContents.push(r.bytes());
        break;
      default:
        r.skip(wire, field);
    }
  }
  checkRawBytesTensors(request, limits, budget);
}

/** The alignment {@link alignRawContents} gives raw contents: enough for every fixed-size datatype. */
const RAW_ALIGNMENT = 8;

/**
 * Moves each misaligned raw tensor of `request` left, within the received
 * message `buf`, to an 8-byte boundary, so that it decodes as a typed-array
 * view instead of a copy into new memory (a 110 KB image per request is
 * otherwise a new ArrayBuffer, and external memory drives V8's full GCs).
 *
 * Safe because the message is ours alone (grpc-js assembles every message into
 * a buffer of its own) and fully decoded: every field before a raw tensor has
 * become a JS value, except views (BYTES `contents`), which a request with
 * raw contents may not have (refused later). A tensor moves only into bytes
 * of this message after the previous raw tensor's end; when there is no room
 * it stays, and is copied when decoded. BYTES tensors are left as they are.
 */
function alignRawContents(buf: Buffer, request: WireInferRequest): void {
  const raw = request.rawInputContents;
  let free = buf.byteOffset;
  for (let i = 0; i < raw.length; i++) {
    const view = raw[i]!;
    const at = view.byteOffset;
    const len = view.byteLength;
    const misaligned = at % RAW_ALIGNMENT;
    if (misaligned !== 0 && len > 0 && request.inputs[i]?.datatype !== 'BYTES' && at - misaligned >= free) {
      const to = at - misaligned;
      buf.copyWithin(to - buf.byteOffset, at - buf.byteOffset, at - buf.byteOffset + len);
      raw[i] = buf.subarray(to - buf.byteOffset, to - buf.byteOffset + len);
      free = to + len;
    } else {
      free = at + len;
    }
  }
}

/** Raw BYTES tensors: their element count (walked, not split) against the shape and the request's BYTES budget. */
function checkRawBytesTensors(request: WireInferRequest, limits: InferRequestLimits, budget: Budget): void {
  const raw = request.rawInputContents;
  const n = Math.min(raw.length, request.inputs.length);
  for (let i = 0; i < n; i++) {
    const input = request.inputs[i]!;
    if (input.datatype !== 'BYTES') continue;
    const label = `input '${input.name}'`;
    const count = countBytesElements(raw[i]!, label);
    const expected = shapeElements(input.shape);
    if (expected !== undefined && count !== expected) throw invalidArgument(`${label}: shape [${input.shape.join(',')}] needs ${expected} element(s), got ${count}`);
    budget.bytes += count;
    if (budget.bytes > limits.maxBytesElements) {
      throw invalidArgument(`${label}: the request holds more than ${limits.maxBytesElements} BYTES elements, the most a request may hold`);
    }
  }
}

/** Elements a shape (decimal strings) holds, or undefined when a dim is not a safe integer >= 0 (the signature check names that). */
function shapeElements(shape: readonly string[]): number | undefined {
  let n = 1;
  for (const s of shape) {
    const d = Number(s);
    if (!Number.isSafeInteger(d) || d < 0) return undefined;
    n *= d;
  }
  return n;
}

function decodeParameterEntry(r: ProtoReader, into: Record<string, InferParameter__Output>, limits: InferRequestLimits, where: string): void {
  const end = r.delimitedEnd();
  const outerEnd = r.end;
  r.end = end;
  let key = '';
  let value: InferParameter__Output = {};
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1) {
      key = r.stringField(wire, `${where} key`);
    } else if (field === 2) {
      r.expect(wire, WIRE_LENGTH, `${where} value`);
      value = decodeParameter(r, r.delimitedEnd());
    } else r.skip(wire, field);
  }
  r.end = outerEnd;
  if (!Object.prototype.hasOwnProperty.call(into, key)) {
    let n = 0;
    for (const k in into) if (Object.prototype.hasOwnProperty.call(into, k)) n++;
    if (n >= limits.maxParameters) throw invalidArgument(`${where} has more than ${limits.maxParameters} entries, the most a map may hold`);
  }
  // An own property even for '__proto__': a key never reaches the prototype.
  Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
}

function decodeParameter(r: ProtoReader, end: number): InferParameter__Output {
  const outerEnd = r.end;
  r.end = end;
  const p: InferParameter__Output = {};
  let choice = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case 1:
        r.expect(wire, WIRE_VARINT, 'bool_param');
        p.boolParam = r.uint32() !== 0;
        break;
      case 2:
        r.expect(wire, WIRE_VARINT, 'int64_param');
        r.varint64();
        p.int64Param = int64String(r.lo, r.hi);
        break;
      case 3:
        p.stringParam = r.stringField(wire, 'string_param');
        break;
      case 4:
        r.expect(wire, WIRE_FIXED64, 'double_param');
        p.doubleParam = r.buf.readDoubleLE(r.fixed64End() - 8);
        break;
      case 5:
        r.expect(wire, WIRE_VARINT, 'uint64_param');
        r.varint64();
        p.uint64Param = uint64String(r.lo, r.hi);
        break;
      default:
        r.skip(wire, field);
        continue;
    }
    if (field > choice) choice = field;
  }
  r.end = outerEnd;
  // As proto-loader reports a oneof: the member set (the last in field order when several are).
  if (choice > 0) p.parameterChoice = PARAMETER_CHOICE[choice]!;
  return p;
}

const PARAMETER_CHOICE = [undefined, 'boolParam', 'int64Param', 'stringParam', 'doubleParam', 'uint64Param'] as const;

function decodeOutputTensor(r: ProtoReader, end: number, limits: InferRequestLimits): OutputTensor {
  const outerEnd = r.end;
  r.end = end;
  const out: OutputTensor = { name: '', parameters: {} };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1) {
      out.name = r.stringField(wire, 'outputs.name');
    } else if (field === 2) {
      r.expect(wire, WIRE_LENGTH, 'outputs.parameters');
      decodeParameterEntry(r, out.parameters, limits, `output '${out.name}' parameters`);
    } else r.skip(wire, field);
  }
  r.end = outerEnd;
  return out;
}

/**
 * One InferInputTensor in two passes: the first reads everything but the
 * contents (whose ranges it notes), so that the shape is known, and checked,
 * before the contents' arrays are sized.
 */
function decodeInputTensor(r: ProtoReader, end: number, limits: InferRequestLimits, budget: Budget): InputTensor {
  const outerEnd = r.end;
  r.end = end;
  const input: InputTensor = { name: '', datatype: '', shape: [], parameters: {}, contents: null };
  let contentsRanges: number[] | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case 1:
        input.name = r.stringField(wire, 'inputs.name');
        break;
      case 2:
        input.datatype = r.stringField(wire, 'inputs.datatype');
        break;
      case 3:
        readShape(r, wire, input, limits);
        break;
      case 4:
        r.expect(wire, WIRE_LENGTH, 'inputs.parameters');
        decodeParameterEntry(r, input.parameters, limits, `input '${input.name}' parameters`);
        break;
      case 5: {
        r.expect(wire, WIRE_LENGTH, 'inputs.contents');
        const contentsEnd = r.delimitedEnd();
        (contentsRanges ??= []).push(r.pos, contentsEnd);
        r.pos = contentsEnd;
        break;
      }
      default:
        r.skip(wire, field);
    }
  }
  if (contentsRanges) input.contents = decodeContents(r, contentsRanges, input, limits, budget);
  r.end = outerEnd;
  return input;
}

function readShape(r: ProtoReader, wire: number, input: InputTensor, limits: InferRequestLimits): void {
  const tooDeep = () => invalidArgument(`input '${input.name}': its shape has more than ${limits.maxShapeRank} dimensions, the most a shape may have`);
  if (wire === WIRE_VARINT) {
    if (input.shape.length >= limits.maxShapeRank) throw tooDeep();
    r.varint64();
    input.shape.push(int64String(r.lo, r.hi));
    return;
  }
  r.expect(wire, WIRE_LENGTH, 'inputs.shape');
  const end = r.delimitedEnd();
  if (input.shape.length + countPackedVarints(r, r.pos, end) > limits.maxShapeRank) throw tooDeep();
  const outerEnd = r.end;
  r.end = end;
  while (r.pos < end) {
    r.varint64();
    input.shape.push(int64String(r.lo, r.hi));
  }
  r.end = outerEnd;
}

/** Elements each contents field holds, counted over every range (a repeated message field merges) without decoding. */
function countContents(r: ProtoReader, ranges: number[]): number[] {
  const counts = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let k = 0; k < ranges.length; k += 2) {
    r.pos = ranges[k]!;
    const end = ranges[k + 1]!;
    const outerEnd = r.end;
    r.end = end;
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field < 1 || field > 8) {
        r.skip(wire, field);
        continue;
      }
      const fixed = field === 6 ? 4 : field === 7 ? 8 : 0;
      if (field === 8) {
        r.expect(wire, WIRE_LENGTH, CONTENTS_NAMES[field]!);
        r.pos = r.delimitedEnd();
        counts[field]!++;
      } else if (wire === WIRE_LENGTH) {
        const packedEnd = r.delimitedEnd();
        const len = packedEnd - r.pos;
        if (fixed > 0) {
          if (len % fixed !== 0) throw r.fail(`packed ${CONTENTS_NAMES[field]} of ${len} byte(s) is not a whole number of ${fixed}-byte values`);
          counts[field]! += len / fixed;
        } else counts[field]! += countPackedVarints(r, r.pos, packedEnd);
        r.pos = packedEnd;
      } else {
        r.expect(wire, fixed === 4 ? WIRE_FIXED32 : fixed === 8 ? WIRE_FIXED64 : WIRE_VARINT, CONTENTS_NAMES[field]!);
        r.skip(wire, field);
        counts[field]!++;
      }
    }
    r.end = outerEnd;
  }
  return counts;
}

function decodeContents(r: ProtoReader, ranges: number[], input: InputTensor, limits: InferRequestLimits, budget: Budget): InferTensorContents__Output {
  const label = `input '${input.name}'`;
  const counts = countContents(r, ranges);
  const expected = shapeElements(input.shape);
  const own = CONTENTS_FIELD_NUMBER[input.datatype];
  let total = 0;
  for (let f = 1; f <= 8; f++) {
    const n = counts[f]!;
    total += n;
    // The datatype's own field must match the shape; another field (a mistake the signature check names) may not outgrow it.
    if (n > 0 && expected !== undefined && (f === own ? n !== expected : n > expected)) {
      throw invalidArgument(`${label}: shape [${input.shape.join(',')}] needs ${expected} element(s), got ${n} in ${CONTENTS_NAMES[f]}`);
    }
  }
  budget.contents += total;
  if (budget.contents > limits.maxContentsElements) {
    throw invalidArgument(`${label}: the request holds more than ${limits.maxContentsElements} elements in typed contents, the most a request may hold (send large tensors in raw_input_contents)`);
  }
  budget.bytes += counts[8]!;
  if (budget.bytes > limits.maxBytesElements) throw invalidArgument(`${label}: the request holds more than ${limits.maxBytesElements} BYTES elements, the most a request may hold`);

  const c: InferTensorContents__Output = {
    boolContents: new Array<boolean>(counts[1]!), intContents: new Array<number>(counts[2]!), int64Contents: new Array<string>(counts[3]!),
    uintContents: new Array<number>(counts[4]!), uint64Contents: new Array<string>(counts[5]!), fp32Contents: new Array<number>(counts[6]!),
    fp64Contents: new Array<number>(counts[7]!), bytesContents: new Array<Buffer>(counts[8]!),
  };
  const at = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let k = 0; k < ranges.length; k += 2) {
    r.pos = ranges[k]!;
    const end = ranges[k + 1]!;
    const outerEnd = r.end;
    r.end = end;
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field < 1 || field > 8) {
        r.skip(wire, field);
        continue;
      }
      if (field === 8) {
        c.bytesContents[at[8]!++] = r.bytes();
        continue;
      }
      if (wire !== WIRE_LENGTH) {
        readContentsValue(r, c, at, field);
        continue;
      }
      const packedEnd = r.delimitedEnd();
      while (r.pos < packedEnd) readContentsValue(r, c, at, field);
    }
    r.end = outerEnd;
  }
  return c;
}

/** One value of contents field `field` (1-7) at the reader's position, into its array at `at[field]`. */
function readContentsValue(r: ProtoReader, c: InferTensorContents__Output, at: number[], field: number): void {
  switch (field) {
    case 1:
      c.boolContents[at[1]!++] = r.uint32() !== 0;
      return;
    case 2:
      c.intContents[at[2]!++] = r.uint32() | 0;
      return;
    case 3:
      r.varint64();
      c.int64Contents[at[3]!++] = int64String(r.lo, r.hi);
      return;
    case 4:
      c.uintContents[at[4]!++] = r.uint32();
      return;
    case 5:
      r.varint64();
      c.uint64Contents[at[5]!++] = uint64String(r.lo, r.hi);
      return;
    case 6:
      c.fp32Contents[at[6]!++] = r.buf.readFloatLE(r.fixed32End() - 4);
      return;
    default:
      c.fp64Contents[at[7]!++] = r.buf.readDoubleLE(r.fixed64End() - 8);
  }
}
