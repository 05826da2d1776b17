import { Code, InfermeshError, invalidArgument } from '../../../shared/errors/index.js';
import { isDatatype } from '../../../shared/onnx/index.js';
import type { InferParameter__Output } from '../../../shared/generated/inference/InferParameter.js';
import type { ModelInferRequest__Output } from '../../../shared/generated/inference/ModelInferRequest.js';
import { parseRequestJson } from './json-parse.js';
import { jsonDataToRaw } from './json-tensor.js';

/** The header of Triton's binary tensor extension: the JSON part's length in bytes; binary tensors follow it. */
export const INFERENCE_HEADER_CONTENT_LENGTH = 'inference-header-content-length';
/** Input parameter: this input's bytes are in the binary part (that many of them, in input order). */
export const BINARY_DATA_SIZE = 'binary_data_size';
/** Output parameter: answer this output in binary. */
export const BINARY_DATA = 'binary_data';
/** Request parameter: the default of `binary_data` for every output. */
export const BINARY_DATA_OUTPUT = 'binary_data_output';

/** A REST inference request turned into the protocol's request, and how its outputs are to be answered. */
export interface RestInferRequest {
  request: ModelInferRequest__Output;
  /** True for an output to be answered in binary. */
  binaryOutput(name: string): boolean;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON parameter (string, number, boolean) as an InferParameter. */
function toParameter(value: unknown, label: string): InferParameter__Output {
  switch (typeof value) {
    case 'boolean':
      return { boolParam: value, parameterChoice: 'boolParam' };
    case 'string':
      return { stringParam: value, parameterChoice: 'stringParam' };
    case 'number':
      return Number.isSafeInteger(value) ? { int64Param: String(value), parameterChoice: 'int64Param' } : { doubleParam: value, parameterChoice: 'doubleParam' };
    default:
      throw invalidArgument(`${label} must be a string, number or boolean, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
}

/** The `parameters` object of a request, input or output, less the keys the REST layer itself reads. */
function parametersOf(value: unknown, label: string, restOnly: readonly string[]): Record<string, InferParameter__Output> {
  if (value === undefined) return {};
  if (!isObject(value)) throw invalidArgument(`${label}'parameters' must be an object`);
  const out: Record<string, InferParameter__Output> = {};
  for (const [key, v] of Object.entries(value)) {
    if (!restOnly.includes(key)) out[key] = toParameter(v, `${label}parameter '${key}'`);
  }
  return out;
}

function headerLength(value: string | string[] | undefined, bodyBytes: number): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0]! : value;
  if (!/^\d{1,15}$/.test(text.trim())) throw invalidArgument(`Inference-Header-Content-Length must be a whole number of bytes, got '${text}'`);
  const n = Number(text);
  if (n > bodyBytes) throw invalidArgument(`Inference-Header-Content-Length is ${n} but the body has only ${bodyBytes} byte(s)`);
  if (n === 0) throw invalidArgument('Inference-Header-Content-Length is 0: the JSON part of the request is missing');
  return n;
}

/**
 * Decodes a REST inference request body: JSON (`inputs` with `data` flat or
 * nested), or with the binary tensor extension (`Inference-Header-Content-Length`
 * JSON bytes, then each input with `binary_data_size` in input order). Binary
 * inputs become Buffer views over `body` (no copy); JSON inputs are encoded
 * into raw bytes, so the shared decoder sees one form. Throws
 * INVALID_ARGUMENT naming what was wrong.
 */
export function decodeRestInferRequest(body: Buffer, headerValue: string | string[] | undefined, modelName: string, modelVersion: string): RestInferRequest {
  const jsonBytes = headerLength(headerValue, body.byteLength) ?? body.byteLength;
  let parsed: unknown;
  try {
    parsed = parseRequestJson(body.toString('utf8', 0, jsonBytes));
  } catch (err) {
    const where = jsonBytes < body.byteLength ? ` (the first ${jsonBytes} byte(s), as Inference-Header-Content-Length says)` : '';
    // The parser's message quotes the body (tensor data): for the client only.
    throw new InfermeshError(Code.INVALID_ARGUMENT, `the request body${where} is not valid JSON: ${(err as Error).message}`, { logMessage: `the request body${where} is not valid JSON`, cause: err });
  }
  if (!isObject(parsed)) throw invalidArgument('the request body must be a JSON object with "inputs"');
  const { id, inputs, outputs } = parsed;
  if (id !== undefined && typeof id !== 'string') throw invalidArgument(`'id' must be a string, got ${typeof id}`);
  if (!Array.isArray(inputs) || inputs.length === 0) throw invalidArgument(`'inputs' must be a non-empty array of tensors`);
  if (outputs !== undefined && !Array.isArray(outputs)) throw invalidArgument(`'outputs' must be an array`);
  const parameters = parametersOf(parsed.parameters, '', [BINARY_DATA_OUTPUT]);
  const binaryDefault = (parsed.parameters as Json | undefined)?.[BINARY_DATA_OUTPUT];
  if (binaryDefault !== undefined && typeof binaryDefault !== 'boolean') throw invalidArgument(`parameter '${BINARY_DATA_OUTPUT}' must be true or false`);

  let at = jsonBytes;
  const request: ModelInferRequest__Output = { modelName, modelVersion, id: id ?? '', parameters, inputs: [], outputs: [], rawInputContents: [] };
  inputs.forEach((input: unknown, i) => {
    if (!isObject(input)) throw invalidArgument(`inputs[${i}] must be an object with name, shape, datatype and data`);
    const { name, shape, datatype } = input;
    if (typeof name !== 'string' || name === '') throw invalidArgument(`inputs[${i}]: 'name' must be a non-empty string`);
    const label = `input '${name}'`;
    if (typeof datatype !== 'string' || !isDatatype(datatype)) throw invalidArgument(`${label}: 'datatype' must be a KServe datatype such as FP32, got ${JSON.stringify(datatype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number')) throw invalidArgument(`${label}: 'shape' must be an array of integers`);
    const size = (input.parameters as Json | undefined)?.[BINARY_DATA_SIZE];
    let raw: Buffer;
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalidArgument(`${label}: '${BINARY_DATA_SIZE}' must be a whole number of bytes, got ${JSON.stringify(size)}`);
      if (input.data !== undefined) throw invalidArgument(`${label}: has both 'data' and '${BINARY_DATA_SIZE}'; send one`);
      if (headerValue === undefined) {
        throw invalidArgument(`${label} has '${BINARY_DATA_SIZE}' but the request has no Inference-Header-Content-Length header to say where the JSON ends`);
      }
      if (at + size > body.byteLength) {
        throw invalidArgument(`${label}: '${BINARY_DATA_SIZE}' is ${size} but only ${body.byteLength - at} byte(s) of binary data remain (Inference-Header-Content-Length ${jsonBytes}, body ${body.byteLength} bytes)`);
      }
      raw = body.subarray(at, at + size);
      at += size;
    } else {
      if (input.data === undefined) throw invalidArgument(`${label}: has neither 'data' nor '${BINARY_DATA_SIZE}'`);
      raw = jsonDataToRaw(datatype, input.data, label);
    }
    request.inputs.push({ name, datatype, shape: shape.map(String), parameters: parametersOf(input.parameters, `${label}: `, [BINARY_DATA_SIZE]), contents: null });
    request.rawInputContents.push(raw);
  });
  if (at !== body.byteLength) {
    throw invalidArgument(`the body has ${body.byteLength - jsonBytes} byte(s) after its JSON part, but the inputs' '${BINARY_DATA_SIZE}' add up to ${at - jsonBytes}`);
  }

  const binary = new Map<string, boolean>();
  (outputs ?? []).forEach((output: unknown, i: number) => {
    if (!isObject(output) || typeof output.name !== 'string') throw invalidArgument(`outputs[${i}] must be an object with a 'name'`);
    const label = `output '${output.name}': `;
    const p = output.parameters as Json | undefined;
    if (p?.classification !== undefined) throw invalidArgument(`${label}the 'classification' extension is not supported`);
    const asBinary = p?.[BINARY_DATA];
    if (asBinary !== undefined && typeof asBinary !== 'boolean') throw invalidArgument(`${label}parameter '${BINARY_DATA}' must be true or false`);
    binary.set(output.name, asBinary ?? binaryDefault ?? false);
    request.outputs.push({ name: output.name, parameters: parametersOf(p, label, [BINARY_DATA]) });
  });
  return { request, binaryOutput: (name) => binary.get(name) ?? binaryDefault ?? false };
}
