import { checkIntegerInRange, checkUint64, SAFE_INTEGER_MAX } from '../numbers/index.js';
import type { Datatype } from '../onnx/index.js';
import { encodeRawTensor, encodeTensorContents, tensorDataFromValues, type TensorData, type TensorValues } from '../tensor/index.js';
import type { InferParameter } from '../generated/inference/InferParameter.js';
import type { ModelInferRequest } from '../generated/inference/ModelInferRequest.js';

/** One input tensor: typed array (the datatype's, see TensorData) or plain JS values. */
export interface InputTensor {
  name: string;
  datatype: Datatype;
  shape: readonly number[];
  data: TensorData | TensorValues;
}

/** What {@link buildInferRequest} builds a ModelInferRequest from. */
export interface InferRequestSpec {
  modelName: string;
  /** '' or undefined: the version the node routes to. */
  modelVersion?: string;
  /** Echoed in the response; streams match answers by it. */
  id?: string;
  inputs: readonly InputTensor[];
  /** Outputs wanted (default: all). */
  outputs?: readonly string[];
  /** `raw` (default): raw_input_contents, no per-element boxing. `contents`: typed contents fields (not for FP16). */
  encoding?: 'raw' | 'contents';
  parameters?: Record<string, InferParameter>;
}

/**
 * Builds a ModelInferRequest. Raw encoding puts typed arrays on the wire as
 * views (no copy); JS arrays are converted once to the datatype's typed array.
 */
export function buildInferRequest(spec: InferRequestSpec): ModelInferRequest {
  const raw = (spec.encoding ?? 'raw') === 'raw';
  const rawInputContents: Buffer[] = [];
  const inputs = spec.inputs.map((input) => {
    // int64 dims on the wire: a negative or fractional dim, or one past 2^53, would not arrive as sent.
    input.shape.forEach((dim, i) => checkUint64(dim, `input '${input.name}' shape[${i}]`));
    const data = tensorDataFromValues(input.datatype, input.data, `input '${input.name}'`);
    const tensor = { name: input.name, datatype: input.datatype, shape: [...input.shape] };
    if (raw) {
      rawInputContents.push(encodeRawTensor(data));
      return tensor;
    }
    return { ...tensor, contents: encodeTensorContents(input.datatype, data, `input '${input.name}'`) };
  });
  return {
    modelName: spec.modelName,
    modelVersion: spec.modelVersion ?? '',
    id: spec.id ?? '',
    inputs,
    outputs: (spec.outputs ?? []).map((name) => ({ name })),
    ...(raw ? { rawInputContents } : {}),
    ...(spec.parameters ? { parameters: checkParameters(spec.parameters) } : {}),
  };
}

/** Integer parameters (priority, timeout) are int64/uint64 on the wire: each must be a safe integer, and uint64 ones not negative. */
function checkParameters(parameters: Record<string, InferParameter>): Record<string, InferParameter> {
  for (const [name, p] of Object.entries(parameters)) {
    if (typeof p.int64Param === 'number') checkIntegerInRange(p.int64Param, `parameter '${name}'`, -SAFE_INTEGER_MAX, SAFE_INTEGER_MAX);
    if (typeof p.uint64Param === 'number') checkUint64(p.uint64Param, `parameter '${name}'`);
  }
  return parameters;
}
