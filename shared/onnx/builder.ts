import onnxProto from 'onnx-proto';
import { ONNX_ELEM_TYPE, type Datatype } from './datatypes.js';

const { onnx } = onnxProto;

/** A graph input or output: name, datatype, and shape (a string or -1 names a dynamic dimension). */
export interface ValueSpec {
  name: string;
  datatype: Datatype;
  shape: readonly (number | string)[];
}

/** A constant tensor stored in the model (weights). */
export interface InitializerSpec {
  name: string;
  datatype: 'FP32' | 'INT64' | 'INT32' | 'FP64';
  dims: readonly number[];
  values: Float32Array | Float64Array | Int32Array | BigInt64Array | readonly number[];
}

/** One operator: `{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }`, with attributes by name. */
export interface NodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  /** Attribute values: number (int if integral, else float), number[] (ints), string, or a tensor. */
  attributes?: Record<string, number | readonly number[] | string | { float: number } | { floats: readonly number[] }>;
  domain?: string;
}

export interface ModelSpec {
  name?: string;
  inputs: readonly ValueSpec[];
  outputs: readonly ValueSpec[];
  nodes: readonly NodeSpec[];
  initializers?: readonly InitializerSpec[];
  /** ONNX opset. Default 17. */
  opset?: number;
  /** Free-form metadata_props of the model. */
  metadata?: Record<string, string>;
}

/**
 * Builds an ONNX model (serialized ModelProto bytes) from a small declarative
 * spec, with the `onnx-proto` types. Used for the demo model, test models and the
 * recommender's exported scorer.
 */
export function buildOnnxModel(spec: ModelSpec): Uint8Array {
  const valueInfo = (v: ValueSpec) =>
    onnx.ValueInfoProto.create({
      name: v.name,
      type: onnx.TypeProto.create({
        tensorType: onnx.TypeProto.Tensor.create({
          elemType: ONNX_ELEM_TYPE[v.datatype],
          shape: onnx.TensorShapeProto.create({
            dim: v.shape.map((d) =>
              typeof d === 'string' ? { dimParam: d } : d < 0 ? { dimParam: `d${Math.random().toString(36).slice(2, 6)}` } : { dimValue: d },
            ),
          }),
        }),
      }),
    });
  const graph = onnx.GraphProto.create({
    name: spec.name ?? 'graph',
    input: spec.inputs.map(valueInfo),
    output: spec.outputs.map(valueInfo),
    node: spec.nodes.map((n, i) =>
      onnx.NodeProto.create({
        opType: n.op,
        name: n.name ?? `${n.op.toLowerCase()}_${i}`,
        input: [...n.inputs],
        output: [...n.outputs],
        domain: n.domain ?? '',
        attribute: Object.entries(n.attributes ?? {}).map(([name, value]) => attribute(name, value)),
      }),
    ),
    initializer: (spec.initializers ?? []).map(initializer),
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'infermesh',
    opsetImport: [{ domain: '', version: spec.opset ?? 17 }],
    graph,
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}

function attribute(name: string, value: NonNullable<NodeSpec['attributes']>[string]) {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, type: A.INT, i: value } : { name, type: A.FLOAT, f: value };
  }
  if ('float' in value) return { name, type: A.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: A.FLOATS, floats: [...value.floats] };
  return { name, type: A.INTS, ints: [...value] };
}

function initializer(t: InitializerSpec) {
  const base = { name: t.name, dims: [...t.dims], dataType: ONNX_ELEM_TYPE[t.datatype] };
  // raw_data holds the little-endian bytes: one copy, no per-element boxing.
  const typed =
    t.values instanceof Float32Array || t.values instanceof Float64Array || t.values instanceof Int32Array || t.values instanceof BigInt64Array
      ? t.values
      : t.datatype === 'FP32' ? Float32Array.from(t.values)
      : t.datatype === 'FP64' ? Float64Array.from(t.values)
      : t.datatype === 'INT32' ? Int32Array.from(t.values)
      : BigInt64Array.from(t.values.map((v) => BigInt(v)));
  return onnx.TensorProto.create({ ...base, rawData: new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength) });
}
