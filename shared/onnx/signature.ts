import onnxProto from 'onnx-proto';
import { datatypeFromOnnx, type Datatype } from './datatypes.js';

const { onnx } = onnxProto;

/** A tensor in a model's signature; -1 marks a dynamic dimension. */
export interface TensorSignature {
  name: string;
  datatype: Datatype;
  shape: number[];
}

export interface ModelSignature {
  inputs: TensorSignature[];
  outputs: TensorSignature[];
  /** The model's opset for the default domain, and its producer. */
  opset: number;
  producer: string;
}

export class OnnxSignatureError extends Error {
  override readonly name = 'OnnxSignatureError';
}

/**
 * Reads a model's input and output signature from the ONNX bytes themselves
 * (graph inputs that are initializers are weights, not inputs). Throws an
 * OnnxSignatureError naming what is wrong when the bytes are not an ONNX model
 * or use a tensor type the protocol cannot carry.
 */
export function readOnnxSignature(bytes: Uint8Array): ModelSignature {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new OnnxSignatureError(`not an ONNX model: ${(err as Error).message}`, { cause: err });
  }
  const graph = model.graph;
  const inputs = graph?.input ?? [];
  const outputs = graph?.output ?? [];
  if (!graph || (inputs.length === 0 && outputs.length === 0)) {
    throw new OnnxSignatureError('not an ONNX model: it has no graph, or a graph with no inputs and outputs');
  }
  const weights = new Set((graph.initializer ?? []).map((t) => t.name));
  const convert = (v: onnxProto.onnx.IValueInfoProto, role: string): TensorSignature => {
    const tensor = v.type?.tensorType;
    if (!tensor) throw new OnnxSignatureError(`${role} '${v.name}' is not a tensor (sequences and maps are not served)`);
    const datatype = datatypeFromOnnx(tensor.elemType ?? 0);
    if (!datatype) throw new OnnxSignatureError(`${role} '${v.name}' has ONNX element type ${tensor.elemType}, which the protocol cannot carry`);
    const shape = (tensor.shape?.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? Number(d.dimValue) : -1));
    return { name: v.name ?? '', datatype, shape };
  };
  const opset = model.opsetImport.find((o) => !o.domain)?.version;
  return {
    inputs: inputs.filter((v) => !weights.has(v.name ?? '')).map((v) => convert(v, 'input')),
    outputs: outputs.map((v) => convert(v, 'output')),
    opset: opset === undefined || opset === null ? 0 : Number(opset),
    producer: model.producerName ?? '',
  };
}
