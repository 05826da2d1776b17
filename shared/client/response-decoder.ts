import { invalidArgument } from '../errors/index.js';
import { isDatatype, type Datatype } from '../onnx/index.js';
import { decodeRawTensor, decodeTensorContents, type TensorData } from '../tensor/index.js';
import type { ModelInferResponse__Output } from '../generated/inference/ModelInferResponse.js';

/** An output tensor of a response, decoded. */
export interface DecodedTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  /** Typed array of the datatype (a view over the received bytes when aligned), or strings for BYTES. */
  data: TensorData;
}

/** Decodes every output of a response (raw_output_contents, or typed contents when a server sent those), by name. */
export function decodeInferResponse(response: ModelInferResponse__Output): Record<string, DecodedTensor> {
  const out: Record<string, DecodedTensor> = {};
  response.outputs.forEach((o, i) => {
    if (!isDatatype(o.datatype)) throw invalidArgument(`output '${o.name}' has unknown datatype '${o.datatype}'`);
    const raw = response.rawOutputContents[i];
    const label = `output '${o.name}'`;
    const data = raw !== undefined ? decodeRawTensor(o.datatype, raw, label) : decodeTensorContents(o.datatype, o.contents ?? ({} as never), label);
    out[o.name] = { name: o.name, datatype: o.datatype, shape: o.shape.map((d) => Number(d)), data };
  });
  return out;
}
