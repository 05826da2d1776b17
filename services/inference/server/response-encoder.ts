import type * as ort from 'onnxruntime-node';
import { InfermeshError, Code } from '../../../shared/errors/index.js';
import { datatypeFromOrt } from '../../../shared/onnx/index.js';
import { encodeRawTensor } from '../../../shared/tensor/index.js';
import type { InferParameter } from '../../../shared/generated/inference/InferParameter.js';
import type { ModelInferResponse } from '../../../shared/generated/inference/ModelInferResponse.js';
import { TRACE_ID_PARAMETER } from '../../../shared/client/index.js';

/** What one response is built from. */
export interface InferResponseParts {
  modelName: string;
  modelVersion: string;
  id: string;
  outputNames: readonly string[];
  outputs: Readonly<Record<string, ort.Tensor>>;
  /** Response parameters. */
  parameters?: Record<string, InferParameter>;
  /** The request's trace id (sampled or not), sent as the `trace_id` string parameter. */
  traceId?: string;
}

/**
 * THE place where ModelInferResponses are built (unary and streaming alike).
 * Outputs always go in raw_output_contents; numeric outputs are Buffer views
 * over ORT's output memory (no copy), BYTES are framed into one buffer each.
 */
export function buildInferResponse(parts: InferResponseParts): ModelInferResponse {
  const outputs: NonNullable<ModelInferResponse['outputs']> = [];
  const raw: Buffer[] = [];
  for (const name of parts.outputNames) {
    const tensor = parts.outputs[name];
    if (!tensor) throw new InfermeshError(Code.INTERNAL, `the executor returned no output '${name}'`);
    const datatype = datatypeFromOrt(tensor.type);
    if (!datatype) throw new InfermeshError(Code.INTERNAL, `output '${name}' has ORT type ${tensor.type}, which the protocol cannot carry`);
    outputs.push({ name, datatype, shape: tensor.dims.map((d) => Number(d)) });
    raw.push(encodeRawTensor(tensor.data));
  }
  return {
    modelName: parts.modelName,
    modelVersion: parts.modelVersion,
    id: parts.id,
    parameters: parts.traceId ? withTraceId(parts.parameters, parts.traceId) : (parts.parameters ?? {}),
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
