import * as ort from 'onnxruntime-node';
import { invalidArgument } from '../../../shared/errors/index.js';
import { ORT_TYPE, type ModelSignature, type TensorSignature } from '../../../shared/onnx/index.js';
import { CONTENTS_FIELD, contentsLength, countBytesElements, decodeRawTensor, decodeTensorContents, elementCount } from '../../../shared/tensor/index.js';
import type { ModelInferRequest__Output } from '../../../shared/generated/inference/ModelInferRequest.js';
import type { LoadedVersion } from '../models/index.js';

/** A ModelInferRequest validated against a version's signature and turned into ORT tensors. */
export interface DecodedInferRequest {
  inputs: Record<string, ort.Tensor>;
  /** Requested outputs, or all of the model's outputs in signature order when none were named (shared: do not change it). */
  outputNames: readonly string[];
  /** Inferences this request counts for: its batch dim when the model batches, else 1. */
  inferences: number;
}

/** A signature's inputs by name and its output names, made once per signature rather than per request. */
interface SignatureLookup {
  byName: ReadonlyMap<string, TensorSignature>;
  outputNames: ReadonlySet<string>;
  /** Every output name in signature order: what a request that names none gets (one array, not one per request). */
  allOutputs: readonly string[];
}

const lookups = new WeakMap<ModelSignature, SignatureLookup>();

function lookupOf(signature: ModelSignature): SignatureLookup {
  let lookup = lookups.get(signature);
  if (!lookup) {
    const allOutputs = Object.freeze(signature.outputs.map((t) => t.name));
    lookup = { byName: new Map(signature.inputs.map((t) => [t.name, t])), outputNames: new Set(allOutputs), allOutputs };
    lookups.set(signature, lookup);
  }
  return lookup;
}

/** How errors name an input. */
const labelOf = (name: string) => `input '${name}'`;

function countMismatch(name: string, shape: readonly number[], count: number, got: number) {
  return invalidArgument(`${labelOf(name)}: shape [${shape.join(',')}] needs ${count} element(s), got ${got}`);
}

/** The wire shape as numbers; undefined when a dimension is not an integer >= 0. */
function toShape(dims: readonly (number | string)[]): number[] | undefined {
  const shape = new Array<number>(dims.length);
  for (let i = 0; i < dims.length; i++) {
    const d = Number(dims[i]);
    if (!Number.isSafeInteger(d) || d < 0) return undefined;
    shape[i] = d;
  }
  return shape;
}

const describe = (t: TensorSignature) => `'${t.name}' (${t.datatype} [${t.shape.join(',')}])`;

/**
 * Validates a request against the version's signature and config and decodes its
 * tensors. Raw tensors become typed-array views over the received buffers when
 * aligned. Throws INVALID_ARGUMENT naming the tensor and what was expected.
 */
export function decodeInferRequest(request: ModelInferRequest__Output, loaded: LoadedVersion): DecodedInferRequest {
  const { signature, config } = loaded;
  const { byName, outputNames: known, allOutputs } = lookupOf(signature);
  const raw = request.rawInputContents ?? [];
  if (raw.length > 0 && raw.length !== request.inputs.length) {
    throw invalidArgument(`raw_input_contents has ${raw.length} entries but the request has ${request.inputs.length} inputs; send one raw entry per input, in order`);
  }
  const inputs: Record<string, ort.Tensor> = {};
  let batch: number | undefined;
  // A plain loop with the labels and messages built only on failure: this runs for every request.
  const requestInputs = request.inputs;
  for (let i = 0; i < requestInputs.length; i++) {
    const input = requestInputs[i]!;
    const expected = byName.get(input.name);
    if (!expected) {
      throw invalidArgument(`unexpected input '${input.name}': the model's inputs are ${signature.inputs.map(describe).join(', ')}`);
    }
    if (inputs[input.name]) throw invalidArgument(`${labelOf(input.name)} appears more than once`);
    if (input.datatype !== expected.datatype) throw invalidArgument(`${labelOf(input.name)}: expected datatype ${expected.datatype}, got '${input.datatype}'`);
    const shape = toShape(input.shape);
    if (!shape) throw invalidArgument(`${labelOf(input.name)}: shape [${input.shape.join(',')}] must hold integers >= 0`);
    const want = expected.shape;
    if (shape.length !== want.length) {
      throw invalidArgument(`${labelOf(input.name)}: expected shape [${want.join(',')}] (rank ${want.length}), got [${shape.join(',')}] (rank ${shape.length})`);
    }
    for (let axis = 0; axis < want.length; axis++) {
      const d = want[axis]!;
      if (d >= 0 && shape[axis] !== d) {
        throw invalidArgument(`${labelOf(input.name)}: dimension ${axis} must be ${d}, got ${shape[axis]} (expected shape [${want.join(',')}], got [${shape.join(',')}])`);
      }
    }
    if (config.maxBatchSize > 0) {
      const b = shape[0]!;
      if (b < 1 || b > config.maxBatchSize) throw invalidArgument(`${labelOf(input.name)}: batch size ${b} must be between 1 and the model's maxBatchSize ${config.maxBatchSize}`);
      if (batch !== undefined && b !== batch) throw invalidArgument(`${labelOf(input.name)}: batch size ${b} differs from the other inputs' ${batch}`);
      batch = b;
    }
    const count = elementCount(shape);
    let data;
    if (raw.length > 0) {
      if (contentsLength(input.contents) > 0) throw invalidArgument(`${labelOf(input.name)}: has both contents and raw_input_contents; send one`);
      // BYTES are counted by walking their frames before one element is split out.
      if (expected.datatype === 'BYTES') {
        const got = countBytesElements(raw[i]!, labelOf(input.name));
        if (got !== count) throw countMismatch(input.name, shape, count, got);
      }
      data = decodeRawTensor(expected.datatype, raw[i]!, labelOf(input.name));
    } else if (input.contents) {
      const got = contentsLength(input.contents);
      if (CONTENTS_FIELD[expected.datatype] && got !== count) throw countMismatch(input.name, shape, count, got);
      data = decodeTensorContents(expected.datatype, input.contents, labelOf(input.name));
    } else {
      data = decodeTensorContents(expected.datatype, {} as never, labelOf(input.name));
    }
    if (expected.datatype === 'BYTES') {
      // ONNX Runtime's string tensors are C strings: a NUL would silently cut the element short.
      const at = (data as string[]).findIndex((e) => e.includes('\0'));
      if (at >= 0) throw invalidArgument(`${labelOf(input.name)}: BYTES element ${at} contains a NUL byte, which ONNX Runtime string tensors cannot hold`);
    }
    if (data.length !== count) throw countMismatch(input.name, shape, count, data.length);
    inputs[input.name] = new ort.Tensor(ORT_TYPE[expected.datatype] as 'float32', data as Float32Array, shape);
  }
  for (const t of signature.inputs) {
    if (!inputs[t.name]) throw invalidArgument(`missing input ${describe(t)}`);
  }
  let outputNames: readonly string[] = allOutputs;
  if (request.outputs.length > 0) {
    const named: string[] = [];
    for (const o of request.outputs) {
      if (!known.has(o.name)) throw invalidArgument(`unknown output '${o.name}': the model's outputs are ${signature.outputs.map(describe).join(', ')}`);
      if (!named.includes(o.name)) named.push(o.name);
    }
    outputNames = named;
  }
  return { inputs, outputNames, inferences: batch ?? 1 };
}
