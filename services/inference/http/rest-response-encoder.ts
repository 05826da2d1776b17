import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { isDatatype } from '../../../shared/onnx/index.js';
import type { InferParameter } from '../../../shared/generated/inference/InferParameter.js';
import type { ModelInferResponse } from '../../../shared/generated/inference/ModelInferResponse.js';
import { rawToJsonData } from './json-tensor.js';
import { BINARY_DATA_SIZE } from './rest-request-decoder.js';

/** A REST inference response: the JSON part, and the binary outputs that follow it (in output order). */
export interface RestInferResponse {
  json: string;
  /** Views over the outputs' memory (no copy); empty when every output is in JSON. */
  binary: Uint8Array[];
}

/** A protocol parameter as a JSON value's text (64-bit integers as exact digits). */
function parameterText(p: InferParameter): string {
  if (p.stringParam !== undefined) return JSON.stringify(p.stringParam);
  if (p.boolParam !== undefined) return p.boolParam ? 'true' : 'false';
  if (p.int64Param !== undefined) return BigInt(String(p.int64Param)).toString();
  if (p.uint64Param !== undefined) return BigInt(String(p.uint64Param)).toString();
  if (p.doubleParam !== undefined) return JSON.stringify(Number(p.doubleParam));
  return 'null';
}

function parametersText(parameters: Record<string, InferParameter> | undefined): string | undefined {
  const entries = Object.entries(parameters ?? {});
  if (entries.length === 0) return undefined;
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${parameterText(v)}`).join(',')}}`;
}

const asBytes = (v: Buffer | Uint8Array | string): Uint8Array => (typeof v === 'string' ? Buffer.from(v, 'binary') : v);

/**
 * Encodes a ModelInferResponse for REST: `model_name`, `model_version`, `id`
 * (when set), `parameters` (the trace id among them), and each output with
 * `data` (JSON, flat) or, when `binaryOutput(name)`, `parameters.binary_data_size`
 * and its raw bytes after the JSON. Throws INVALID_ARGUMENT for an FP16 output
 * asked for in JSON.
 */
export function encodeRestInferResponse(response: ModelInferResponse, binaryOutput: (name: string) => boolean): RestInferResponse {
  const binary: Uint8Array[] = [];
  const outputs = (response.outputs ?? []).map((o, i) => {
    const name = o.name ?? '';
    const datatype = o.datatype ?? '';
    if (!isDatatype(datatype)) throw new InfermeshError(Code.INTERNAL, `output '${name}' has datatype '${datatype}', which the protocol does not define`);
    // Every infermesh node (a peer's answer too, in mesh mode) answers in raw_output_contents.
    const raw = response.rawOutputContents?.[i];
    if (raw === undefined) throw new InfermeshError(Code.INTERNAL, `output '${name}' came back without raw_output_contents`);
    const bytes = asBytes(raw);
    const shape = `[${(o.shape ?? []).map((d) => String(d)).join(',')}]`;
    const head = `{"name":${JSON.stringify(name)},"datatype":"${datatype}","shape":${shape}`;
    const extra = parametersText(o.parameters);
    if (binaryOutput(name)) {
      binary.push(bytes);
      const p = extra ? `${extra.slice(0, -1)},"${BINARY_DATA_SIZE}":${bytes.byteLength}}` : `{"${BINARY_DATA_SIZE}":${bytes.byteLength}}`;
      return `${head},"parameters":${p}}`;
    }
    return `${head}${extra ? `,"parameters":${extra}` : ''},"data":${rawToJsonData(datatype, bytes, `output '${name}'`)}}`;
  });
  const parameters = parametersText(response.parameters);
  const json =
    `{"model_name":${JSON.stringify(response.modelName ?? '')},"model_version":${JSON.stringify(response.modelVersion ?? '')}` +
    (response.id ? `,"id":${JSON.stringify(response.id)}` : '') +
    (parameters ? `,"parameters":${parameters}` : '') +
    `,"outputs":[${outputs.join(',')}]}`;
  return { json, binary };
}
