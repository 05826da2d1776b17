import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const E = onnx.TensorProto.DataType;

/** The tensor datatypes of the KServe v2 protocol. */
export type Datatype =
  | 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64'
  | 'INT8' | 'INT16' | 'INT32' | 'INT64'
  | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

/** Every KServe datatype that infermesh serves, in protocol order. */
export const DATATYPES: readonly Datatype[] = [
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES',
];

/** ONNX TensorProto.DataType numbers by KServe datatype. */
export const ONNX_ELEM_TYPE: Readonly<Record<Datatype, number>> = {
  BOOL: E.BOOL, UINT8: E.UINT8, UINT16: E.UINT16, UINT32: E.UINT32, UINT64: E.UINT64,
  INT8: E.INT8, INT16: E.INT16, INT32: E.INT32, INT64: E.INT64,
  FP16: E.FLOAT16, FP32: E.FLOAT, FP64: E.DOUBLE, BYTES: E.STRING,
};

const BY_ELEM_TYPE = new Map<number, Datatype>(Object.entries(ONNX_ELEM_TYPE).map(([k, v]) => [v, k as Datatype]));

/** The KServe datatype of an ONNX element type, or undefined for types the protocol lacks (complex, bfloat16). */
export function datatypeFromOnnx(elemType: number): Datatype | undefined {
  return BY_ELEM_TYPE.get(elemType);
}

/** onnxruntime-node's tensor type names by KServe datatype. */
export const ORT_TYPE: Readonly<Record<Datatype, string>> = {
  BOOL: 'bool', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64',
  INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  FP16: 'float16', FP32: 'float32', FP64: 'float64', BYTES: 'string',
};

const BY_ORT_TYPE = new Map<string, Datatype>(Object.entries(ORT_TYPE).map(([k, v]) => [v, k as Datatype]));

/** The KServe datatype of an onnxruntime tensor type name (`float32` → `FP32`). */
export function datatypeFromOrt(type: string): Datatype | undefined {
  return BY_ORT_TYPE.get(type);
}

/** Bytes per element of a fixed-size datatype; undefined for BYTES. */
export const ELEMENT_SIZE: Readonly<Record<Datatype, number | undefined>> = {
  BOOL: 1, UINT8: 1, UINT16: 2, UINT32: 4, UINT64: 8, INT8: 1, INT16: 2, INT32: 4, INT64: 8,
  FP16: 2, FP32: 4, FP64: 8, BYTES: undefined,
};

export function isDatatype(s: string): s is Datatype {
  return (DATATYPES as readonly string[]).includes(s);
}
