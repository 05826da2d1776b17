export {
  DATATYPES,
  ELEMENT_SIZE,
  ONNX_ELEM_TYPE,
  ORT_TYPE,
  datatypeFromOnnx,
  datatypeFromOrt,
  isDatatype,
  type Datatype,
} from './datatypes.js';
export { buildOnnxModel, type ModelSpec, type NodeSpec, type ValueSpec, type InitializerSpec } from './builder.js';
export { readOnnxSignature, OnnxSignatureError, type ModelSignature, type TensorSignature } from './signature.js';
export { PACKAGED_MODELS, packagedModelPath } from './packaged-models.js';
