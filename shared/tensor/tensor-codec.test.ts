import { describe, expect, it } from 'vitest';
import { Code, type InfermeshError } from '../errors/index.js';
import { DATATYPES, type Datatype } from '../onnx/index.js';
import { decodeBytesElements, encodeBytesElements } from './bytes-framing.js';
import { decodeRawTensor, encodeRawTensor } from './raw-codec.js';
import { decodeTensorContents, encodeTensorContents } from './contents-codec.js';
import { fromFloat16Bits, toFloat16Bits } from './float16.js';
import { tensorDataFromValues } from './from-values.js';
import { type TensorData } from './tensor-data.js';
import type { InferTensorContents, InferTensorContents__Output } from '../generated/inference/InferTensorContents.js';

/** Values that exercise each datatype's range edges. */
const SAMPLES: Record<Datatype, readonly (number | bigint | boolean | string)[]> = {
  BOOL: [true, false, true],
  UINT8: [0, 1, 255],
  UINT16: [0, 1, 65535],
  UINT32: [0, 1, 4294967295],
  UINT64: [0n, 1n, 18446744073709551615n],
  INT8: [-128, 0, 127],
  INT16: [-32768, 0, 32767],
  INT32: [-2147483648, 0, 2147483647],
  INT64: [-9223372036854775808n, 0n, 9223372036854775807n],
  FP16: [-2, 0.5, 65504],
  FP32: [-1.5, 0, 3.4028234663852886e38],
  FP64: [-1e308, Math.PI, 5e-324],
  BYTES: ['hello', '', 'naïve ☃'],
};

/** What grpc-js hands a server for typed contents (64-bit as strings, bytes as Buffers, every field present). */
function asReceived(contents: InferTensorContents): InferTensorContents__Output {
  const str = (v: unknown[] | undefined) => (v ?? []).map((x) => String(x));
  return {
    boolContents: (contents.boolContents ?? []),
    intContents: (contents.intContents ?? []),
    int64Contents: str(contents.int64Contents),
    uintContents: (contents.uintContents ?? []),
    uint64Contents: str(contents.uint64Contents),
    fp32Contents: (contents.fp32Contents ?? []).map(Number),
    fp64Contents: (contents.fp64Contents ?? []).map(Number),
    bytesContents: (contents.bytesContents ?? []).map((b) => Buffer.from(b as Uint8Array)),
  };
}

const plain = (data: TensorData) => Array.from(data as ArrayLike<unknown>);

describe('tensor codec', () => {
  describe.each(DATATYPES)('%s', (datatype) => {
    const data = tensorDataFromValues(datatype, SAMPLES[datatype]);

    it('round-trips through raw bytes', () => {
      const raw = encodeRawTensor(data);
      expect(plain(decodeRawTensor(datatype, raw))).toEqual(plain(data));
    });

    it.skipIf(datatype === 'FP16')('round-trips through typed contents, and typed equals raw', () => {
      const contents = asReceived(encodeTensorContents(datatype, data));
      const typed = decodeTensorContents(datatype, contents);
      expect(plain(typed)).toEqual(plain(data));
      expect(plain(typed)).toEqual(plain(decodeRawTensor(datatype, encodeRawTensor(data))));
      expect(typed.constructor).toBe(decodeRawTensor(datatype, encodeRawTensor(data)).constructor);
    });

    it.skipIf(datatype === 'BYTES')('decodes aligned raw bytes as a view (same ArrayBuffer) and misaligned bytes as a correct copy', () => {
      const raw = encodeRawTensor(data);
      const size = raw.byteLength / data.length;
      // Aligned: an offset that is a multiple of the element size inside a larger buffer.
      const big = new Uint8Array(raw.byteLength + 16);
      big.set(raw, 8);
      const aligned = decodeRawTensor(datatype, big.subarray(8, 8 + raw.byteLength)) as Exclude<TensorData, string[]>;
      expect(aligned.buffer).toBe(big.buffer);
      expect(aligned.byteOffset).toBe(8);
      expect(plain(aligned)).toEqual(plain(data));
      if (size > 1) {
        big.set(raw, 1);
        const misaligned = decodeRawTensor(datatype, big.subarray(1, 1 + raw.byteLength)) as Exclude<TensorData, string[]>;
        expect(misaligned.buffer).not.toBe(big.buffer);
        expect(plain(misaligned)).toEqual(plain(data));
      }
    });

    it.skipIf(datatype === 'BYTES' || datatype === 'BOOL' || datatype.endsWith('8'))('rejects a raw length that is not a whole number of elements', () => {
      const raw = encodeRawTensor(data);
      expect(() => decodeRawTensor(datatype, raw.subarray(0, raw.byteLength - 1), "input 'x'")).toThrow(/input 'x': .* is not a whole number of/);
    });
  });

  it('encodes typed arrays as raw views without copying', () => {
    const data = Float32Array.from([1, 2, 3]);
    expect(encodeRawTensor(data).buffer).toBe(data.buffer);
  });

  it('puts each datatype in its own contents field and rejects data in the wrong one', () => {
    expect(encodeTensorContents('INT16', Int16Array.from([1]))).toEqual({ intContents: [1] });
    expect(encodeTensorContents('UINT8', Uint8Array.from([1]))).toEqual({ uintContents: [1] });
    expect(encodeTensorContents('UINT64', BigUint64Array.from([1n]))).toEqual({ uint64Contents: ['1'] });
    const wrong = asReceived({ intContents: [1, 2] });
    expect(() => decodeTensorContents('FP32', wrong, "input 'x'")).toThrow(/input 'x': FP32 data belongs in fp32_contents, but int_contents was set/);
  });

  it('rejects FP16 typed contents (FP16 travels raw only)', () => {
    expect(() => encodeTensorContents('FP16', Uint16Array.from([0]))).toThrow(/FP16 has no typed contents field/);
    expect(() => decodeTensorContents('FP16', asReceived({}), "input 'h'")).toThrow(/input 'h': FP16 has no typed contents field; send it in raw_input_contents/);
  });

  it('rejects typed values out of the datatype range', () => {
    expect(() => decodeTensorContents('INT8', asReceived({ intContents: [200] }), "input 'x'")).toThrow(/element 0 \(200\) is out of range for INT8/);
    expect(() => decodeTensorContents('UINT16', asReceived({ uintContents: [70000] }))).toThrow(/out of range for UINT16/);
  });

  describe('BYTES framing', () => {
    it('frames each element as a 4-byte little-endian length + bytes, empty strings included', () => {
      const raw = encodeBytesElements(['ab', '', 'c']);
      expect([...raw]).toEqual([2, 0, 0, 0, 97, 98, 0, 0, 0, 0, 1, 0, 0, 0, 99]);
      expect(decodeBytesElements(raw).map((b) => b.toString())).toEqual(['ab', '', 'c']);
      expect(decodeRawTensor('BYTES', encodeBytesElements([]))).toEqual([]);
      expect(decodeRawTensor('BYTES', encodeBytesElements(['', '']))).toEqual(['', '']);
    });

    it('returns elements as views over the received buffer', () => {
      const raw = encodeBytesElements(['xyz']);
      expect(decodeBytesElements(raw)[0]!.buffer).toBe(raw.buffer);
    });

    it('rejects truncated frames with a clear INVALID_ARGUMENT', () => {
      const raw = encodeBytesElements(['hello', 'world']);
      const cut = (n: number) => {
        try {
          decodeRawTensor('BYTES', raw.subarray(0, n), "input 'text'");
        } catch (err) {
          return err as InfermeshError;
        }
        throw new Error('expected a failure');
      };
      const inBody = cut(raw.byteLength - 2);
      expect(inBody.code).toBe(Code.INVALID_ARGUMENT);
      expect(inBody.message).toMatch(/input 'text': truncated BYTES element 1: its length says 5 byte\(s\) but 3 remain/);
      expect(cut(11).message).toMatch(/truncated BYTES element 1: 2 byte\(s\) left where a 4-byte length was expected/);
    });
  });

  describe('FP16', () => {
    it('converts numbers to half-precision bits and back', () => {
      expect(toFloat16Bits(1)).toBe(0x3c00);
      expect(toFloat16Bits(-2)).toBe(0xc000);
      expect(toFloat16Bits(65504)).toBe(0x7bff);
      expect(toFloat16Bits(1e6)).toBe(0x7c00);
      expect(toFloat16Bits(5.960464477539063e-8)).toBe(0x0001);
      expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
      for (const v of [0, 0.5, 1.5, -3.25, 1024, 0.0001]) expect(fromFloat16Bits(toFloat16Bits(v))).toBeCloseTo(v, 3);
    });
  });
});
