import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Code } from '../../../shared/errors/index.js';
import { DATATYPES, ORT_TYPE, type Datatype } from '../../../shared/onnx/index.js';
import { loadProtos } from '../../../shared/proto/index.js';
import { buildInferRequest } from '../../../shared/client/index.js';
import { decodeRawTensor, encodeBytesElements, tensorDataFromValues } from '../../../shared/tensor/index.js';
import type { ProtoGrpcType } from '../../../shared/generated/grpc_service.js';
import type { ModelInferRequest } from '../../../shared/generated/inference/ModelInferRequest.js';
import type { ModelInferResponse } from '../../../shared/generated/inference/ModelInferResponse.js';
import { InferDecodeFailure, WIRE_BYTES, decodeModelInferRequest, type WireInferRequest } from './infer-request-wire.js';
import { encodeModelInferResponse, encodeModelStreamInferResponse } from './infer-response-wire.js';
import { DEFAULT_INFER_REQUEST_LIMITS } from './request-limits.js';
import { buildInferResponse } from './response-encoder.js';

const service = (loadProtos(['inference/grpc_service.proto']) as unknown as ProtoGrpcType).inference.GRPCInferenceService.service;
/** proto-loader's (protobufjs's) own serializers: the reference the codec must match. */
const pbEncodeRequest = (m: ModelInferRequest) => service.ModelInfer.requestSerialize(m);
const pbDecodeRequest = (b: Buffer) => service.ModelInfer.requestDeserialize(b);
const pbEncodeResponse = (m: ModelInferResponse) => service.ModelInfer.responseSerialize(m);
const pbEncodeStream = service.ModelStreamInfer.responseSerialize;

const SAMPLES: Record<Datatype, readonly (number | bigint | boolean | string)[]> = {
  BOOL: [true, false, true, true],
  UINT8: [0, 1, 255, 7],
  UINT16: [0, 1, 65535, 7],
  UINT32: [0, 1, 4294967295, 7],
  UINT64: [0n, 1n, 18446744073709551615n, 9007199254740993n],
  INT8: [-128, 0, 127, -1],
  INT16: [-32768, 0, 32767, -1],
  INT32: [-2147483648, 0, 2147483647, -1],
  INT64: [-9223372036854775808n, 0n, 9223372036854775807n, -4294967296n],
  FP16: [-2, 0.5, 65504, 0],
  FP32: [-1.5, 0, 3.4028234663852886e38, 1e-45],
  FP64: [-1e308, Math.PI, 5e-324, -0],
  BYTES: ['hello', '', 'naïve ☃', 'x'],
};

function requestFor(datatype: Datatype, encoding: 'raw' | 'contents'): ModelInferRequest {
  return buildInferRequest({
    modelName: 'm',
    modelVersion: '3',
    id: 'req-1',
    inputs: [
      { name: 'x', datatype, shape: [2, 2], data: SAMPLES[datatype] },
      { name: 'y', datatype: 'FP32', shape: [1], data: [1] },
    ],
    outputs: ['out'],
    encoding,
    parameters: {
      priority: { int64Param: 2 },
      timeout: { uint64Param: '18446744073709551615' },
      s: { stringParam: 'é' },
      d: { doubleParam: 0.25 },
      b: { boolParam: true },
      neg: { int64Param: '-5' },
    },
  });
}

function decoded(buf: Buffer): WireInferRequest {
  const out = decodeModelInferRequest(buf);
  if (out instanceof InferDecodeFailure) throw out.error;
  return out;
}

function failure(buf: Buffer, limits = DEFAULT_INFER_REQUEST_LIMITS): InferDecodeFailure {
  const out = decodeModelInferRequest(buf, limits);
  expect(out).toBeInstanceOf(InferDecodeFailure);
  const f = out as InferDecodeFailure;
  expect(f.error.code).toBe(Code.INVALID_ARGUMENT);
  return f;
}

/** One protobuf field: tag and body (already encoded). */
const varint = (n: number | bigint): Buffer => {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  while (v > 127n) {
    out.push(Number(v & 127n) | 128);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
};
const tag = (field: number, wire: number) => varint((field << 3) | wire);
const lenField = (field: number, body: Buffer) => Buffer.concat([tag(field, 2), varint(body.length), body]);

describe('ModelInferRequest wire decoder', () => {
  describe.each(DATATYPES)('%s', (datatype) => {
    for (const encoding of ['raw', 'contents'] as const) {
      if (encoding === 'contents' && datatype === 'FP16') continue;
      it(`decodes ${encoding} exactly as proto-loader does`, () => {
        const buf = pbEncodeRequest(requestFor(datatype, encoding));
        const ours = decoded(buf);
        expect(ours).toEqual(pbDecodeRequest(buf));
        expect(ours[WIRE_BYTES]).toBe(buf.byteLength);
        if (encoding === 'raw') {
          // Views over the received buffer, not copies.
          for (const raw of ours.rawInputContents) expect(raw.buffer).toBe(buf.buffer);
          const data = decodeRawTensor(datatype, ours.rawInputContents[0]!);
          expect(Array.from(data as ArrayLike<unknown>)).toEqual(Array.from(tensorDataFromValues(datatype, SAMPLES[datatype]) as ArrayLike<unknown>));
        }
      });
    }
  });

  it('reads raw tensors at a misaligned offset (a copy only then)', () => {
    // 'a' (1 byte) before the raw field puts the FP64 bytes at an odd offset.
    const buf = pbEncodeRequest({ modelName: 'a', inputs: [{ name: 'x', datatype: 'FP64', shape: [2] }], rawInputContents: [Buffer.from(new Float64Array([1.5, -2]).buffer)] });
    const raw = decoded(buf).rawInputContents[0]!;
    expect(raw.byteOffset % 8).not.toBe(0);
    expect(Array.from(decodeRawTensor('FP64', raw) as Float64Array)).toEqual([1.5, -2]);
  });

  it('moves misaligned raw tensors to aligned offsets within a buffer it owns, and leaves BYTES and tensors with no room as they are', () => {
    const fp64 = Buffer.from(new Float64Array([1.5, -2]).buffer);
    const int32 = Buffer.from(new Int32Array([7, -8, 9]).buffer);
    const bytes = encodeBytesElements(['ab', 'c']);
    const message: ModelInferRequest = {
      modelName: 'a',
      // The INT32 right after the FP64: the room the FP64 leaves behind it plus its own prefix is enough to align it.
      inputs: [{ name: 'x', datatype: 'FP64', shape: [2] }, { name: 'i', datatype: 'INT32', shape: [3] }, { name: 's', datatype: 'BYTES', shape: [2] }],
      rawInputContents: [fp64, int32, bytes],
    };
    const pristine = pbEncodeRequest(message);
    for (let shift = 0; shift < 8; shift++) {
      // The message at every offset from an 8-byte boundary, as grpc-js's framing puts it (5 bytes in).
      const backing = Buffer.alloc(pristine.byteLength + 8);
      pristine.copy(backing, shift);
      const buf = backing.subarray(shift, shift + pristine.byteLength);
      const ours = decodeModelInferRequest(buf, DEFAULT_INFER_REQUEST_LIMITS, { ownsBuffer: true }) as WireInferRequest;
      expect(ours).toEqual(pbDecodeRequest(pristine));
      const [x, i, s] = ours.rawInputContents;
      for (const fixed of [x!, i!]) {
        expect(fixed.byteOffset % 8).toBe(0);
        expect(fixed.buffer).toBe(buf.buffer);
        // Within the message, never before it.
        expect(fixed.byteOffset).toBeGreaterThanOrEqual(buf.byteOffset);
      }
      expect(Array.from(decodeRawTensor('FP64', x!) as Float64Array)).toEqual([1.5, -2]);
      expect(Array.from(decodeRawTensor('INT32', i!) as Int32Array)).toEqual([7, -8, 9]);
      expect(decodeRawTensor('BYTES', s!)).toEqual(['ab', 'c']);
    }
    // A buffer it does not own is never written to.
    const kept = Buffer.from(pristine);
    decodeModelInferRequest(kept);
    expect(kept.equals(pristine)).toBe(true);
    // Raw contents first in the message: 2 bytes of tag and length before them, so an offset 3 past a boundary cannot move.
    const tight = Buffer.concat([lenField(7, fp64), lenField(5, Buffer.concat([lenField(1, Buffer.from('x')), lenField(2, Buffer.from('FP64')), tag(3, 0), varint(2)]))]);
    const backing = Buffer.alloc(tight.byteLength + 8);
    tight.copy(backing, 1);
    const stuck = decodeModelInferRequest(backing.subarray(1, 1 + tight.byteLength), DEFAULT_INFER_REQUEST_LIMITS, { ownsBuffer: true }) as WireInferRequest;
    expect(stuck.rawInputContents[0]!.byteOffset % 8).toBe(3);
    expect(Array.from(decodeRawTensor('FP64', stuck.rawInputContents[0]!) as Float64Array)).toEqual([1.5, -2]);
  });

  it('skips unknown fields of every wire type, at every level', () => {
    const unknown = Buffer.concat([
      tag(99, 0), varint(12345678901n),
      tag(98, 1), Buffer.alloc(8, 7),
      lenField(97, Buffer.from('junk')),
      tag(96, 5), Buffer.alloc(4, 1),
      tag(95, 3), tag(1, 0), varint(1), lenField(2, Buffer.from('in a group')), tag(95, 4),
    ]);
    const contents = Buffer.concat([lenField(6, Buffer.from(new Float32Array([1, 2]).buffer)), unknown]);
    const tensor = Buffer.concat([lenField(1, Buffer.from('x')), unknown, lenField(2, Buffer.from('FP32')), lenField(3, Buffer.concat([varint(2)])), lenField(5, contents)]);
    const buf = Buffer.concat([unknown, lenField(1, Buffer.from('m')), lenField(5, tensor), unknown]);
    const ours = decoded(buf);
    expect(ours).toEqual(pbDecodeRequest(buf));
    expect(ours.inputs[0]!.contents!.fp32Contents).toEqual([1, 2]);
  });

  it('accepts unpacked repeated scalars and merges repeated contents (as protobuf says; protobufjs keeps the last)', () => {
    const tensor = Buffer.concat([
      lenField(1, Buffer.from('x')), lenField(2, Buffer.from('INT64')),
      tag(3, 0), varint(1), tag(3, 0), varint(3),
      lenField(5, Buffer.concat([tag(3, 0), varint(-1)])),
      lenField(5, Buffer.concat([lenField(3, Buffer.concat([varint(2), varint(3)]))])),
    ]);
    const buf = lenField(5, tensor);
    const ours = decoded(buf);
    expect(ours.inputs[0]!.shape).toEqual(['1', '3']);
    expect(ours.inputs[0]!.contents!.int64Contents).toEqual(['-1', '2', '3']);
    expect(pbDecodeRequest(buf).inputs[0]!.contents!.int64Contents).toEqual(['2', '3']);
  });

  it('refuses every truncation protobufjs refuses (and those it clamps silently), never throws, and agrees on the rest', () => {
    const buf = pbEncodeRequest(requestFor('BYTES', 'contents'));
    for (let n = 0; n < buf.length; n++) {
      const cut = buf.subarray(0, n);
      let reference: unknown;
      try {
        reference = pbDecodeRequest(cut);
      } catch {
        reference = undefined;
      }
      const ours = decodeModelInferRequest(cut);
      if (reference === undefined) expect(ours, `prefix of ${n} bytes`).toBeInstanceOf(InferDecodeFailure);
      else if (!(ours instanceof InferDecodeFailure)) expect(ours, `prefix of ${n} bytes`).toEqual(reference);
      else expect(ours.error.message, `prefix of ${n} bytes`).toMatch(/runs past the end|truncated/);
    }
  });

  it('names what is malformed', () => {
    expect(failure(Buffer.concat([tag(1, 0), varint(3)])).error.message).toMatch(/field 'model_name' has wire type 0, expected 2/);
    expect(failure(Buffer.from([0x7f])).error.message).toMatch(/invalid wire type 7 for field 15/);
    expect(failure(Buffer.concat([tag(1, 2), varint(1000), Buffer.from('ab')])).error.message).toMatch(/a length of 1000 byte\(s\) runs past the end/);
    expect(failure(Buffer.from([0x78, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).error.message).toMatch(/varint longer than 10 bytes/);
    expect(failure(Buffer.concat([tag(95, 3), tag(1, 0), varint(1)])).error.message).toMatch(/unterminated group 95/);
    const badPacked = lenField(5, Buffer.concat([lenField(2, Buffer.from('FP32')), lenField(3, varint(3)), lenField(5, lenField(6, Buffer.alloc(5)))]));
    expect(failure(badPacked).error.message).toMatch(/packed fp32_contents of 5 byte\(s\) is not a whole number of 4-byte values/);
  });

  it('keeps the id and model read before a fault, for a stream answer', () => {
    const f = failure(Buffer.concat([lenField(1, Buffer.from('mlp')), lenField(3, Buffer.from('r7')), Buffer.from([0x7f])]));
    expect([f.modelName, f.id]).toEqual(['mlp', 'r7']);
  });

  it('checks counts against the shape and the limits before allocating', () => {
    // Ten million empty BYTES elements in 40 MB: refused on the count, before one view is made.
    const bomb = Buffer.alloc(4 * 10_000_000);
    const bytesBomb = pbEncodeRequest({ modelName: 'm', inputs: [{ name: 't', datatype: 'BYTES', shape: [10_000_000] }], rawInputContents: [bomb] });
    expect(failure(bytesBomb).error.message).toMatch(/input 't': the request holds more than 1048576 BYTES elements/);
    const wrongCount = pbEncodeRequest({ modelName: 'm', inputs: [{ name: 't', datatype: 'BYTES', shape: [3] }], rawInputContents: [encodeBytesElements(['a', 'b'])] });
    expect(failure(wrongCount).error.message).toMatch(/input 't': shape \[3\] needs 3 element\(s\), got 2/);
    const typed = pbEncodeRequest({ modelName: 'm', inputs: [{ name: 'x', datatype: 'BOOL', shape: [2], contents: { boolContents: [true, false, true] } }] });
    expect(failure(typed).error.message).toMatch(/input 'x': shape \[2\] needs 2 element\(s\), got 3 in bool_contents/);
    const limits = { ...DEFAULT_INFER_REQUEST_LIMITS, maxTensors: 2, maxShapeRank: 3, maxParameters: 1, maxContentsElements: 3 };
    const many = pbEncodeRequest({ inputs: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
    expect(failure(many, limits).error.message).toMatch(/more than 2 inputs/);
    const deep = pbEncodeRequest({ inputs: [{ name: 'a', shape: [1, 1, 1, 1] }] });
    expect(failure(deep, limits).error.message).toMatch(/input 'a': its shape has more than 3 dimensions/);
    const params = pbEncodeRequest({ parameters: { a: { boolParam: true }, b: { boolParam: true } } });
    expect(failure(params, limits).error.message).toMatch(/parameters has more than 1 entries/);
    const elements = pbEncodeRequest({ inputs: [{ name: 'a', datatype: 'FP32', shape: [2], contents: { fp32Contents: [1, 2] } }, { name: 'b', datatype: 'FP32', shape: [2], contents: { fp32Contents: [1, 2] } }] });
    expect(failure(elements, limits).error.message).toMatch(/input 'b': the request holds more than 3 elements in typed contents/);
  });

  it('keeps a parameter named __proto__ an own property', () => {
    const buf = lenField(4, Buffer.concat([lenField(1, Buffer.from('__proto__')), lenField(2, Buffer.concat([tag(3, 2), varint(1), Buffer.from('x')]))]));
    const ours = decoded(buf);
    expect(Object.getPrototypeOf(ours.parameters)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(ours.parameters, '__proto__')?.value).toEqual({ stringParam: 'x', parameterChoice: 'stringParam' });
  });
});

describe('ModelInferResponse wire encoder', () => {
  const outputsOf = (datatype: Datatype) => {
    const data = tensorDataFromValues(datatype, SAMPLES[datatype]);
    return { out: new ort.Tensor(ORT_TYPE[datatype] as 'float32', data as Float32Array, [2, 2]) };
  };

  describe.each(DATATYPES)('%s', (datatype) => {
    it('writes the bytes protobufjs writes', () => {
      const response = buildInferResponse({ modelName: 'm', modelVersion: '1', id: 'r', outputNames: ['out'], outputs: outputsOf(datatype), traceId: 'abc' });
      const ours = encodeModelInferResponse(response);
      expect(ours.equals(pbEncodeResponse(response))).toBe(true);
      expect(service.ModelInfer.responseDeserialize(ours)).toEqual(service.ModelInfer.responseDeserialize(pbEncodeResponse(response)));
      const stream = { errorMessage: '', inferResponse: response };
      expect(encodeModelStreamInferResponse(stream).equals(pbEncodeStream(stream))).toBe(true);
    });
  });

  it('matches protobufjs for every field it can carry, empty ones included', () => {
    const responses: ModelInferResponse[] = [
      {},
      { modelName: '', id: '', parameters: {}, outputs: [], rawOutputContents: [] },
      {
        modelName: 'é☃',
        parameters: { a: { boolParam: false }, b: { int64Param: '-1' }, c: { uint64Param: '18446744073709551615' }, d: { doubleParam: -0.5 }, e: { stringParam: '' }, '': {} },
        outputs: [
          { name: 'o', datatype: 'INT32', shape: [0, 3, 2 ** 40], parameters: { p: { int64Param: 7 } }, contents: { intContents: [-1, 0, 2 ** 31 - 1], int64Contents: ['-9223372036854775808', '5'], uintContents: [4294967295], uint64Contents: ['1'], boolContents: [true, false], fp32Contents: [1.5], fp64Contents: [Math.E], bytesContents: [Buffer.from('ab'), Buffer.alloc(0)] } },
          { name: 'empty', contents: {} },
        ],
        rawOutputContents: [Buffer.alloc(0), Buffer.from([1, 2, 3])],
      },
    ];
    for (const response of responses) {
      expect(encodeModelInferResponse(response).equals(pbEncodeResponse(response))).toBe(true);
      for (const stream of [{ errorMessage: 'bad', inferResponse: response }, { inferResponse: response }, { errorMessage: 'only' }]) {
        expect(encodeModelStreamInferResponse(stream).equals(pbEncodeStream(stream))).toBe(true);
      }
    }
  });
});
