// The REST bodies of the benchmark (bench/rest-*.ts): one request or response
// per case and encoding, built once. JSON carries the tensor in `data`;
// binary is Triton's binary tensor extension (JSON header, then raw bytes).
import { payloadBytes, type PayloadSpec } from './worker-protocol.js';

/** How a REST request carries its tensors, and asks for its outputs. */
export type RestEncoding = 'json' | 'binary';
export const REST_ENCODINGS: readonly RestEncoding[] = ['json', 'binary'];

/** A body with the headers that go with it. */
export interface RestBody {
  body: Buffer;
  headers: Record<string, string | number>;
}

function jsonValues(spec: PayloadSpec): string {
  const raw = payloadBytes(spec);
  if (spec.datatype !== 'FP32') throw new Error(`the REST bench sends FP32 tensors; ${spec.name} is ${spec.datatype}`);
  return `[${Array.from(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)).join(',')}]`;
}

function withHeader(json: string, raw: Buffer | undefined, contentType: string): RestBody {
  const head = Buffer.from(json);
  const body = raw ? Buffer.concat([head, raw]) : head;
  return {
    body,
    headers: { 'content-type': raw ? 'application/octet-stream' : contentType, 'content-length': body.byteLength, ...(raw ? { 'inference-header-content-length': head.byteLength } : {}) },
  };
}

/** The request the load generator sends for `input` (one row, as the gRPC sweep sends). */
export function restRequestBody(input: PayloadSpec, encoding: RestEncoding): RestBody {
  const tensor = `"name":${JSON.stringify(input.name)},"shape":[${input.shape.join(',')}],"datatype":"${input.datatype}"`;
  if (encoding === 'json') return withHeader(`{"inputs":[{${tensor},"data":${jsonValues(input)}}]}`, undefined, 'application/json');
  const raw = payloadBytes(input);
  return withHeader(`{"inputs":[{${tensor},"parameters":{"binary_data_size":${raw.byteLength}}}],"parameters":{"binary_data_output":true}}`, raw, '');
}

/** The response the bare echo server answers with: the size and shape of the served model's output. */
export function restResponseBody(output: PayloadSpec, encoding: RestEncoding): RestBody {
  const tensor = `"name":${JSON.stringify(output.name)},"datatype":"${output.datatype}","shape":[${output.shape.join(',')}]`;
  const head = `{"model_name":"echo","model_version":"1","outputs":[{${tensor}`;
  if (encoding === 'json') return withHeader(`${head},"data":${jsonValues(output)}}]}`, undefined, 'application/json');
  const raw = payloadBytes(output);
  return withHeader(`${head},"parameters":{"binary_data_size":${raw.byteLength}}}]}`, raw, '');
}
