import { InfermeshError, Code } from '../../../shared/errors/index.js';
import { datatypeFromOrt } from '../../../shared/onnx/index.js';
import { encodeRawTensor } from '../../../shared/tensor/index.js';
import type { InferParameter } from '../../../shared/generated/inference/InferParameter.js';
import type { ModelInferResponse } from '../../../shared/generated/inference/ModelInferResponse.js';
import { TRACE_ID_PARAMETER } from '../../../shared/client/index.js';
import type { TensorView } from '../execution/index.js';

/** What one response is built from. */
export interface InferResponseParts {
  modelName: string;
  modelVersion: string;
  id: string;
  outputNames: readonly string[];
  outputs: Readonly<Record<string, TensorView>>;
  /** Response parameters. */
  parameters?: Record<string, InferParameter>;
  /** The request's trace id (sampled or not), sent as the `trace_id` string parameter. */
  traceId?: string;
}

/** The parameters of a response that has none: one object, never written to (the encoders only read it). */
const NO_PARAMETERS: Record<string, InferParameter> = Object.freeze({});

/**
 * THE place where ModelInferResponses are built (unary and streaming alike).
 * Outputs always go in raw_output_contents; numeric outputs are Buffer views
 * over ORT's output memory (no copy), BYTES are framed into one buffer each.
 * Per request: the response, one entry and one view per output; the shape is
 * the output's own dims array (read only, possibly shared by a batch).
 */
export function buildInferResponse(parts: InferResponseParts): ModelInferResponse {
  const names = parts.outputNames;
  const outputs: NonNullable<ModelInferResponse['outputs']> = new Array(names.length);
  const raw: Buffer[] = new Array<Buffer>(names.length);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const tensor = parts.outputs[name];
    if (!tensor) throw new InfermeshError(Code.INTERNAL, `the executor returned no output '${name}'`);
    const datatype = datatypeFromOrt(tensor.type);
    if (!datatype) throw new InfermeshError(Code.INTERNAL, `output '${name}' has ORT type ${tensor.type}, which the protocol cannot carry`);
    outputs[i] = { name, datatype, shape: tensor.dims as number[] };
    raw[i] = encodeRawTensor(tensor.data);
  }
  return {
    modelName: parts.modelName,
    modelVersion: parts.modelVersion,
    id: parts.id,
    parameters: parts.traceId ? withTraceId(parts.parameters, parts.traceId) : (parts.parameters ?? NO_PARAMETERS),
    outputs,
    rawOutputContents: raw,
  };
}

/** The response parameters with `trace_id` added last (no spread when there are none: the usual case, per request). */
function withTraceId(parameters: Record<string, InferParameter> | undefined, traceId: string): Record<string, InferParameter> {
  const out: Record<string, InferParameter> = {};
  if (parameters) for (const key of Object.keys(parameters)) out[key] = parameters[key]!;
  out[TRACE_ID_PARAMETER] = { stringParam: traceId };
  return out;
}
