import { Code, InfermeshError, invalidArgument } from '../../../shared/errors/index.js';
import type { Datatype } from '../../../shared/onnx/index.js';
import { TYPED_ARRAY, decodeRawTensor, encodeBytesElements } from '../../../shared/tensor/index.js';

/**
 * JSON tensor data of the Open Inference Protocol (REST): a flat or nested
 * array of elements in row-major order; numbers for numeric datatypes,
 * booleans for BOOL, strings for BYTES. FP16 has no JSON form (binary only).
 *
 * JSON cannot hold every value a tensor can, so, as Triton and Python's
 * `json` do: NaN and ±Infinity are written as the bare tokens `NaN`,
 * `Infinity`, `-Infinity` and read from them or from those strings; negative
 * zero is written `-0.0`; 64-bit integers are written as exact digits and
 * read exactly from digits or decimal strings (see json-parse.ts). The
 * binary tensor extension carries any bits.
 */

/** Deepest nesting of `data` accepted (tensors of higher rank are not served). */
const MAX_DATA_DEPTH = 32;

const INT_RANGE: Partial<Record<Datatype, [number, number]>> = {
  INT8: [-128, 127], INT16: [-32768, 32767], INT32: [-(2 ** 31), 2 ** 31 - 1],
  UINT8: [0, 255], UINT16: [0, 65535], UINT32: [0, 2 ** 32 - 1],
};
const BIG_RANGE: Partial<Record<Datatype, [bigint, bigint]>> = {
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
};
const NON_FINITE: Readonly<Record<string, number>> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };
const DECIMAL = /^-?\d+$/;

/** Flattens flat or nested `data` (row-major) into its elements. */
function flatten(data: unknown, label: string): unknown[] {
  if (!Array.isArray(data)) throw invalidArgument(`${label}: 'data' must be an array (flat or nested, row-major), got ${typeof data}`);
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const walk = (v: unknown[], depth: number) => {
    if (depth > MAX_DATA_DEPTH) throw invalidArgument(`${label}: 'data' is nested deeper than ${MAX_DATA_DEPTH} levels`);
    for (const e of v) {
      if (Array.isArray(e)) walk(e, depth + 1);
      else out.push(e);
    }
  };
  walk(data, 1);
  return out;
}

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** INVALID_ARGUMENT for one element: the client is shown its value, logs and spans only where it was (it is tensor data). */
const badElement = (label: string, element: string, value: unknown, problem: string) =>
  new InfermeshError(Code.INVALID_ARGUMENT, `${label}: ${element} (${show(value)}) ${problem}`, { logMessage: `${label}: ${element} ${problem}` });

/**
 * Turns an input's JSON `data` into the raw little-endian bytes the shared
 * decoder reads (`raw_input_contents` form): one allocation per tensor.
 * Throws INVALID_ARGUMENT naming `label` and the element that does not fit.
 */
export function jsonDataToRaw(datatype: Datatype, data: unknown, label: string): Buffer {
  const values = flatten(data, label);
  if (datatype === 'FP16') throw invalidArgument(`${label}: FP16 has no JSON form; send it in binary (the input's "parameters": {"binary_data_size": N})`);
  if (datatype === 'BYTES') {
    values.forEach((v, i) => {
      if (typeof v !== 'string') throw badElement(label, `BYTES element ${i}`, v, 'must be a string');
    });
    return encodeBytesElements(values as string[]);
  }
  if (datatype === 'BOOL') {
    const out = new Uint8Array(values.length);
    values.forEach((v, i) => {
      if (typeof v !== 'boolean') throw badElement(label, `BOOL element ${i}`, v, 'must be true or false');
      out[i] = v ? 1 : 0;
    });
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }
  const big = BIG_RANGE[datatype];
  if (big) {
    const out = new (TYPED_ARRAY[datatype] as BigInt64ArrayConstructor)(values.length);
    values.forEach((v, i) => {
      let n: bigint;
      if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
      else if (typeof v === 'string' && DECIMAL.test(v)) n = BigInt(v);
      else if (typeof v === 'number' && Number.isInteger(v)) {
        throw badElement(label, `element ${i}`, v, 'is beyond 2^53, where JSON numbers lose digits; send it as a decimal string or in binary');
      } else throw badElement(label, `element ${i}`, v, `is not an integer, as ${datatype} needs`);
      if (n < big[0] || n > big[1]) throw badElement(label, `element ${i}`, n, `is out of range for ${datatype}`);
      out[i] = n;
    });
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }
  const out = new (TYPED_ARRAY[datatype] as Float64ArrayConstructor)(values.length);
  const range = INT_RANGE[datatype];
  // The hot path (float data as numbers): a plain loop, the checks below only for the rest.
  let i = 0;
  if (!range) {
    for (; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'number') break;
      out[i] = v;
    }
  }
  for (let at = i; at < values.length; at++) {
    const v = values[at];
    let n: number;
    if (typeof v === 'number') n = v;
    else if (typeof v === 'string' && !range && Object.hasOwn(NON_FINITE, v)) n = NON_FINITE[v]!;
    else if (typeof v === 'string' && DECIMAL.test(v)) n = Number(v);
    else throw badElement(label, `element ${at}`, v, `is not a number, as ${datatype} needs`);
    if (range) {
      if (!Number.isInteger(n)) throw badElement(label, `element ${at}`, n, `is not an integer, as ${datatype} needs`);
      if (n < range[0] || n > range[1]) throw badElement(label, `element ${at}`, n, `is out of range for ${datatype}`);
    }
    out[at] = n;
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

function floatText(v: number): string {
  if (Number.isFinite(v)) return v === 0 && 1 / v < 0 ? '-0.0' : String(v);
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/**
 * The JSON text (a flat array) of an output's raw bytes. Throws
 * INVALID_ARGUMENT for FP16, which JSON cannot carry.
 */
export function rawToJsonData(datatype: Datatype, raw: Uint8Array, label: string): string {
  if (datatype === 'FP16') throw invalidArgument(`${label} is FP16, which has no JSON form; request it in binary ("outputs": [{"name": ..., "parameters": {"binary_data": true}}])`);
  const data = decodeRawTensor(datatype, raw, label);
  if (datatype === 'BYTES') return JSON.stringify(data);
  if (datatype === 'BOOL') return `[${Array.from(data as Uint8Array, (v) => (v ? 'true' : 'false')).join(',')}]`;
  if (datatype === 'FP32' || datatype === 'FP64') return `[${Array.from(data as Float64Array, floatText).join(',')}]`;
  // Integers: their decimal digits, exact also for 64-bit (BigInt's toString).
  return `[${Array.prototype.join.call(data, ',')}]`;
}
